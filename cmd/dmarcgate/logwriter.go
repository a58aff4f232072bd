package main

import (
	"io"
	"sync"
	"time"
)

// logPace is the least time between two writes under load: the lines of
// a busy moment leave together, one write syscall per logPace at most
// instead of one per few lines. A line after a quiet spell leaves at once.
const logPace = 2 * time.Millisecond

// maxLogBacklog bounds the log bytes waiting to be written; past it,
// writers wait, as they would on a slow stderr.
const maxLogBacklog = 256 << 10

// logWriter writes the daemon's log lines to out from a goroutine of its
// own. slog holds its lock while it writes: with stderr written directly,
// every session waits on that write syscall (or on a slow supervisor
// reading the pipe) in turn. Here a line is appended under a short lock;
// a line alone goes out at once, and under load the lines of logPace go
// out together in the next write.
type logWriter struct {
	out  io.Writer
	wake chan struct{} // holds a signal while pending has lines
	done chan struct{} // closed when the writing goroutine ends
	pace time.Duration // logPace; tests change it

	mu      sync.Mutex
	room    sync.Cond // broadcast when pending is taken
	pending []byte
	closed  bool
}

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, wake: make(chan struct{}, 1), done: make(chan struct{}), pace: logPace}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues p (slog hands over one whole line per call). After Close it
// writes p directly.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.pending) >= maxLogBacklog && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		<-w.done // the queued lines are out: keep the order
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already signalled
	}
	return len(p), nil
}

func (w *logWriter) run() {
	defer close(w.done)
	var batch []byte
	var last time.Time // when the last write began
	for range w.wake {
		if wait := w.pace - time.Since(last); wait > 0 {
			time.Sleep(wait) // more lines join this write meanwhile
		}
		last = time.Now()
		w.mu.Lock()
		batch, w.pending = w.pending, batch[:0]
		closed := w.closed
		w.room.Broadcast()
		w.mu.Unlock()
		if len(batch) > 0 {
			// A failed log write has nowhere to be reported.
			_, _ = w.out.Write(batch)
		}
		if closed {
			return
		}
	}
}

// Close writes out what is queued and returns once it is written.
func (w *logWriter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a signal is waiting: run will see closed
	}
	<-w.done
}
