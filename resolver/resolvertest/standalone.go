package resolvertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Listen serves zone on 127.0.0.1 until Close, for programs that are not
// tests (the load generator). It is Start with its test failures turned
// into a returned error. On a server from Listen, Add and SetRecords
// panic on a malformed record instead of failing a test.
func Listen(zone Zone) (srv *Server, err error) {
	tb := &standaloneTB{}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		failure, ok := r.(standaloneFailure)
		if !ok {
			panic(r)
		}
		tb.runCleanups()
		srv, err = nil, failure.err
	}()
	return Start(tb, zone), nil
}

// Close stops a server made by Listen. A server made by Start is closed
// by its test's cleanup instead.
func (s *Server) Close() error {
	tb, ok := s.t.(*standaloneTB)
	if !ok {
		return errors.New("resolvertest: Close is for servers made by Listen; Start's servers close at test cleanup")
	}
	tb.runCleanups()
	return nil
}

// standaloneFailure carries a Fatal out of Start as a panic that Listen
// recovers, since outside a test there is no goroutine to end.
type standaloneFailure struct{ err error }

// standaloneTB stands in for a testing.TB outside tests: it keeps the
// cleanups for Close and turns Fatal into standaloneFailure. Embedding the
// interface satisfies its unexported method; only the methods the server
// calls are provided.
type standaloneTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
}

func (tb *standaloneTB) Helper() {}

func (tb *standaloneTB) Fatal(args ...any) {
	panic(standaloneFailure{errors.New(fmt.Sprint(args...))})
}

func (tb *standaloneTB) Fatalf(format string, args ...any) {
	panic(standaloneFailure{fmt.Errorf(format, args...)})
}

func (tb *standaloneTB) Cleanup(f func()) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.cleanups = append(tb.cleanups, f)
}

// runCleanups runs the registered cleanups once, last first, as testing does.
func (tb *standaloneTB) runCleanups() {
	tb.mu.Lock()
	fs := tb.cleanups
	tb.cleanups = nil
	tb.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
