package queue

import (
	"net"
	"sync"
	"testing"
	"time"

	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

// tarpit is a hostile SMTP server on 127.0.0.1: it trickles its greeting
// one byte per interval and then hangs up, so a client that restarts its
// timeout on every read never times out. It counts its connections.
type tarpit struct {
	ln       net.Listener
	greeting string
	every    time.Duration

	mu      sync.Mutex
	open    int
	maxOpen int
	total   int
	conns   map[net.Conn]bool
}

func startTarpit(t *testing.T, every time.Duration) *tarpit {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tarpit{ln: ln, greeting: "220 tarpit.test ESMTP slowly\r\n", every: every, conns: map[net.Conn]bool{}}
	go tp.serve()
	t.Cleanup(tp.close)
	return tp
}

func (tp *tarpit) port() int {
	return tp.ln.Addr().(*net.TCPAddr).Port
}

func (tp *tarpit) serve() {
	for {
		c, err := tp.ln.Accept()
		if err != nil {
			return
		}
		tp.mu.Lock()
		tp.open++
		tp.total++
		tp.maxOpen = max(tp.maxOpen, tp.open)
		tp.conns[c] = true
		tp.mu.Unlock()
		go tp.trickle(c)
	}
}

// trickle writes the greeting byte by byte (bounded: it ends with it).
func (tp *tarpit) trickle(c net.Conn) {
	defer func() {
		c.Close()
		tp.mu.Lock()
		tp.open--
		delete(tp.conns, c)
		tp.mu.Unlock()
	}()
	tick := time.NewTicker(tp.every)
	defer tick.Stop()
	for i := 0; i < len(tp.greeting); i++ {
		if _, err := c.Write([]byte{tp.greeting[i]}); err != nil {
			return
		}
		<-tick.C
	}
}

func (tp *tarpit) counts() (open, maxOpen, total int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.open, tp.maxOpen, tp.total
}

func (tp *tarpit) close() {
	tp.ln.Close()
	tp.mu.Lock()
	for c := range tp.conns {
		c.Close()
	}
	tp.mu.Unlock()
}

// hostileResolver serves a zone whose domain hostile.test has its MX on
// 127.0.0.1; the caller points OutboundPort at the tarpit.
func hostileResolver(t *testing.T) resolver.Resolver {
	t.Helper()
	dns := resolvertest.Start(t, resolvertest.Zone{
		"hostile.test.": {
			"hostile.test. 300 IN MX 10 tar.hostile.test.",
			"tar.hostile.test. 300 IN A 127.0.0.1",
		},
	})
	res, err := resolver.New(resolver.Config{Servers: []string{dns.Addr()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
