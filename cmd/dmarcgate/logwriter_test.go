package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowOut records what it is given; each write takes delay, and none
// returns while gate is held.
type slowOut struct {
	delay time.Duration
	gate  sync.RWMutex

	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (o *slowOut) Write(p []byte) (int, error) {
	o.gate.RLock()
	defer o.gate.RUnlock()
	time.Sleep(o.delay)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	return o.buf.Write(p)
}

func (o *slowOut) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func TestLogWriterKeepsEveryLineInOrder(t *testing.T) {
	out := &slowOut{delay: 2 * time.Millisecond}
	w := newLogWriter(out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Close()
	next := make([]int, writers) // the line expected next from each writer
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("mangled line %q", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d of %d lines written", g, n, lines)
		}
	}
	// Lines that arrive during a write share the next one.
	if out.writes > writers*lines/4 {
		t.Errorf("%d writes for %d lines", out.writes, writers*lines)
	}

	// After Close, lines go out directly.
	fmt.Fprintf(w, "late\n")
	if got := out.String(); !strings.HasSuffix(got, "\nlate\n") {
		t.Errorf("line after Close missing: %q", got[max(0, len(got)-40):])
	}
	w.Close() // twice is harmless
}

func TestLogWriterWritesALoneLineAtOnce(t *testing.T) {
	out := &slowOut{}
	w := newLogWriter(out)
	defer w.Close()
	fmt.Fprintf(w, "alone\n")
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "alone\n" {
		if time.Now().After(deadline) {
			t.Fatalf("a lone line was not written without Close: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// With stderr stuck, the backlog stays bounded: writers wait.
func TestLogWriterBacklogIsBounded(t *testing.T) {
	out := &slowOut{}
	out.gate.Lock()
	w := newLogWriter(out)
	line := strings.Repeat("x", 1023) + "\n"
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		for range 2*maxLogBacklog/len(line) + 2 {
			w.Write([]byte(line))
		}
	}()
	select {
	case <-blocked:
		t.Fatal("writers never waited for a stuck output")
	case <-time.After(100 * time.Millisecond):
	}
	w.mu.Lock()
	pending := len(w.pending)
	w.mu.Unlock()
	if pending > maxLogBacklog+len(line) {
		t.Errorf("%d bytes pending, bound %d", pending, maxLogBacklog)
	}
	out.gate.Unlock()
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("writers still blocked after the output recovered")
	}
	w.Close()
	if n := strings.Count(out.String(), "\n"); n != 2*maxLogBacklog/len(line)+2 {
		t.Errorf("%d lines written", n)
	}
}

// A steady trickle of lines, each of which would otherwise find the writer
// idle, is written at most once per pace; the first line does not wait.
func TestLogWriterPacesWritesUnderLoad(t *testing.T) {
	out := &slowOut{}
	w := newLogWriter(out)
	w.pace = 200 * time.Millisecond
	start := time.Now()
	fmt.Fprintf(w, "first\n")
	for out.String() == "" {
		time.Sleep(time.Millisecond)
	}
	if waited := time.Since(start); waited >= 150*time.Millisecond {
		t.Errorf("the first line waited %v: it should not wait for the pace", waited)
	}
	const lines = 100
	for i := range lines {
		fmt.Fprintf(w, "line %d\n", i)
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	w.Close()
	if got := strings.Count(out.String(), "\n"); got != lines+1 {
		t.Fatalf("%d of %d lines written", got, lines+1)
	}
	// One write per pace, plus the first and the one at Close.
	if most := int(elapsed/w.pace) + 2; out.writes > most {
		t.Errorf("%d writes in %v at a pace of %v: want at most %d", out.writes, elapsed, w.pace, most)
	}
	if out.writes < 2 {
		t.Errorf("%d writes: the first line should have gone alone", out.writes)
	}
}
