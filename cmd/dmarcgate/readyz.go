package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"dmarcgate/store"
)

// Readiness bounds: a scrape every few seconds must neither hammer the
// downstream with connections nor wait long on a hung disk.
const (
	readyDialTimeout = time.Second
	readyCommitWait  = 2 * time.Second
)

// readyCacheFor is how long a verdict is reused (a variable for tests).
var readyCacheFor = 5 * time.Second

// readiness answers /readyz: can mail accepted now be committed and
// relayed? Unlike /healthz (the process runs), it fails while the downstream
// (relay.address) refuses TCP connections or the state database cannot
// commit, so a load balancer can send clients to another MX meanwhile.
type readiness struct {
	relay string
	db    *store.DB

	mu       sync.Mutex // one check at a time; the others wait for its result
	checked  time.Time
	last     error
	inCommit atomic.Bool // a commit still running: a hung disk gets no second one
}

// err is the cached verdict, refreshed when older than readyCacheFor.
func (r *readiness) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= readyCacheFor {
		r.last = r.check()
		r.checked = time.Now()
	}
	return r.last
}

func (r *readiness) check() error {
	if err := r.checkCommit(); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", r.relay, readyDialTimeout)
	if err != nil {
		return fmt.Errorf("downstream %s unreachable: %v", r.relay, err)
	}
	c.Close()
	return nil
}

// checkCommit runs an empty write transaction: bbolt still writes and
// syncs its meta page, so a full or read-only disk fails it.
func (r *readiness) checkCommit() error {
	if !r.inCommit.CompareAndSwap(false, true) {
		return fmt.Errorf("database: an earlier commit has not finished")
	}
	done := make(chan error, 1)
	go func() {
		defer r.inCommit.Store(false)
		done <- r.db.Commit(context.Background(), func(*bolt.Tx) error { return nil })
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("database cannot commit: %v", err)
		}
		return nil
	case <-time.After(readyCommitWait):
		return fmt.Errorf("database commit took over %v", readyCommitWait)
	}
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := r.err(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", err)
		return
	}
	fmt.Fprintln(w, "ok")
}
