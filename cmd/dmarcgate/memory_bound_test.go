package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"dmarcgate/auth"
	"dmarcgate/config"
)

// The README's memory bound, tested: sessions stalled in DATA after a
// large header section hold at most queue.body_memory plus
// perSessionBound each, bodies and header copies together.
func TestStalledLargeHeadersStayInMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 MB")
	}
	const (
		conns      = 100
		headerSize = 1000 << 10
		bodyMemory = 16 << 20
	)
	h := newHarness(t, func(c *config.Config) {
		c.Queue.BodyMemory = bodyMemory
		c.SMTP.MaxConnectionsPerIP = conns + 10
		c.SMTP.ReadTimeout = config.Duration{Duration: time.Minute}
	})
	line := "X-Filler: " + strings.Repeat("f", 988) + "\r\n"
	header := "From: <alice@good.example>\r\n" + strings.Repeat(line, headerSize/len(line))
	before, heapBefore := rss(t), liveHeap()
	read0 := headerBytesRead()
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c := stallInHeader(t, h.addr, header)
		open = append(open, c)
	}
	waitFor(t, 60*time.Second, "the servers to read every header", func() bool {
		return headerBytesRead()-read0 >= float64(conns*(len(header)-64<<10))
	})
	heap := liveHeap() - heapBefore
	grown := rss(t) - before
	bound := int64(bodyMemory + conns*perSessionBound)
	t.Logf("live heap grew by %d MiB, RSS by %d MiB, for %d sessions stalled after a %d KiB header (bound %d MiB)",
		heap>>20, grown>>20, conns, len(header)>>10, bound>>20)
	if heap > bound {
		t.Fatalf("live heap grew by %d MiB, over the documented bound of %d MiB", heap>>20, bound>>20)
	}
	// The race detector's shadow memory multiplies RSS: RSS is checked
	// without it only.
	if !raceDetector && grown > bound {
		t.Fatalf("RSS grew by %d MiB, over the documented bound of %d MiB", grown>>20, bound>>20)
	}
}

// perSessionBound is what the README promises per session in DATA beyond
// queue.body_memory: 256 KiB of body, 64 KiB of header copy, buffers.
const perSessionBound = 512 << 10

// stallInHeader opens a transaction, sends header (no blank line after
// it) and leaves the session waiting for more.
func stallInHeader(t *testing.T, addr, header string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	expect := func(code string) {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if !strings.HasPrefix(l, code) {
				t.Fatalf("got %q, want %s", l, code)
			}
			if len(l) > 3 && l[3] == ' ' {
				return
			}
		}
	}
	expect("220")
	for _, step := range [][2]string{{"EHLO client.test", "250"}, {"MAIL FROM:<alice@good.example>", "250"},
		{"RCPT TO:<bob@example.org>", "250"}, {"DATA", "354"}} {
		fmt.Fprintf(c, "%s\r\n", step[0])
		expect(step[1])
	}
	if _, err := c.Write([]byte(header)); err != nil {
		t.Fatal(err)
	}
	return c
}

// rss is the process's resident set after returning freed memory to the
// system (/proc/self/statm, in pages).
func rss(t *testing.T) int64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// liveHeap is the heap the last collection found alive (runtime/metrics).
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// headerBytesRead: header bytes the DKIM verifiers were given, all sessions.
func headerBytesRead() float64 { return auth.HeaderBytesRead() }
