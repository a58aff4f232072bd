package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"dmarcgate/config"
)

// sendForID sends one message and returns the queue ID of its 250 reply.
func sendForID(addr, subject string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return "", err
	}
	if err := c.Mail("alice@nopolicy.example", nil); err != nil {
		return "", err
	}
	if err := c.Rcpt("bob@example.org", nil); err != nil {
		return "", err
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(message("alice@nopolicy.example", subject))); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	_, id, ok := strings.Cut(resp.StatusText, "queued as ")
	if !ok {
		return "", fmt.Errorf("250 without an ID: %q", resp.StatusText)
	}
	return id, c.Quit()
}

// queuedIn opens a backup and returns the IDs of its queue entries.
func queuedIn(t *testing.T, file string) map[string]bool {
	t.Helper()
	db, err := bolt.Open(file, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer db.Close()
	ids := map[string]bool{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("queue"))
		if b == nil {
			return fmt.Errorf("no queue bucket")
		}
		return b.ForEach(func(k, _ []byte) error { ids[string(k)] = true; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// A backup taken while messages are being accepted holds every message
// accepted before it started, through a running serve and without one.
func TestBackupUnderLoad(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Queue.RetryFirst.Duration, c.Queue.RetryMax.Duration = time.Hour, time.Hour
	})
	h.sink.Close() // accepted messages stay queued
	var mu sync.Mutex
	var accepted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id, err := sendForID(h.addr, fmt.Sprintf("load %d-%d", g, i))
				if err != nil {
					t.Errorf("send under load: %v", err)
					return
				}
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	waitFor(t, 20*time.Second, "messages accepted under load", func() bool { return count() >= 40 })
	mu.Lock()
	before := append([]string(nil), accepted...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "state.backup")
	out, err := runCmd(t, h, "backup", file)
	after := count()
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "a consistent copy of") {
		t.Fatalf("backup with serve: %v\n%s", err, out)
	}
	if after == len(before) {
		t.Log("no message was accepted while the backup ran")
	}
	got := queuedIn(t, file)
	for _, id := range before {
		if !got[id] {
			t.Errorf("message %s, accepted before the backup started, is not in it", id)
		}
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.cfg.StateDir, "backup-*")); len(left) != 0 {
		t.Errorf("serve left its copy behind: %v", left)
	}
	mustContain(t, h.logs.String(), `msg="state database backed up"`)

	// Without serve the command reads the database itself.
	h.stop()
	mu.Lock()
	all := append([]string(nil), accepted...)
	mu.Unlock()
	file2 := filepath.Join(t.TempDir(), "state2.backup")
	if out, err := runCmd(t, h, "backup", file2); err != nil {
		t.Fatalf("backup without serve: %v\n%s", err, out)
	}
	got = queuedIn(t, file2)
	for _, id := range all {
		if !got[id] {
			t.Errorf("message %s is not in the backup taken without serve", id)
		}
	}
	// Restore: the copy in place of the database, and serve finds the queue.
	if err := os.Rename(file2, filepath.Join(h.cfg.StateDir, dbFile)); err != nil {
		t.Fatal(err)
	}
	if out, err := queueList(t, h); err != nil || !strings.Contains(out, fmt.Sprintf("%d message(s)", len(all))) {
		t.Errorf("queue list after restoring: %v\n%.300s", err, out)
	}
}

func TestBackupRefusesWhatItCannotDo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte(minimalConfig("state", "")), 0o600)
	var out, errb strings.Builder
	code := run(t.Context(), []string{"backup", filepath.Join(dir, "b"), "--config", path}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "no state database at") {
		t.Errorf("backup without a database: exit %d %q", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "b.tmp")); !os.IsNotExist(err) {
		t.Errorf("a failed backup left its temporary file: %v", err)
	}
	code = run(t.Context(), []string{"backup", "--config", path}, nil, &out, &errb)
	if code != 2 {
		t.Errorf("backup without FILE: exit %d", code)
	}
}
