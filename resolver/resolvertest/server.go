// Package resolvertest runs an in-process authoritative DNS server on
// 127.0.0.1 for tests: records from a Zone, plus chosen failures
// (an RCODE, silence, truncation over UDP) and per-question counters.
// It is no recursive resolver and serves no real zone.
package resolvertest

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DefaultSOAMinimum is the negative-caching TTL (SOA MINIMUM and SOA TTL,
// in seconds) of the synthetic SOA sent with NXDOMAIN and NODATA answers.
const DefaultSOAMinimum = 300

type question struct {
	name  string
	qtype uint16
}

// Server is a running test DNS server, listening on one 127.0.0.1 port for
// both UDP and TCP. All methods are safe for concurrent use; those that
// parse records fail the test on bad input and belong on the test goroutine.
type Server struct {
	t    testing.TB
	addr string

	mu         sync.Mutex
	records    map[string][]dns.RR // by lower-case FQDN owner
	rcodes     map[string]int
	silenced   map[string]bool
	truncated  map[string]bool
	ad         bool
	delay      time.Duration
	soaMinimum uint32
	counts     map[question]int
	total      int
}

// Start serves zone on 127.0.0.1 until the test ends.
func Start(t testing.TB, zone Zone) *Server {
	t.Helper()
	s := &Server{
		t:          t,
		records:    map[string][]dns.RR{},
		rcodes:     map[string]int{},
		silenced:   map[string]bool{},
		truncated:  map[string]bool{},
		soaMinimum: DefaultSOAMinimum,
		counts:     map[question]int{},
	}
	for origin, rrs := range zone {
		for _, text := range rrs {
			rr, err := parseRR(text, origin)
			if err != nil {
				t.Fatal(err)
			}
			s.records[rr.Header().Name] = append(s.records[rr.Header().Name], rr)
		}
	}
	s.listen()
	return s
}

// listen binds UDP and TCP on the same free port and serves both.
func (s *Server) listen() {
	s.t.Helper()
	for try := 0; try < 20; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			s.t.Fatalf("resolvertest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close() // the port is taken for TCP: try another
			continue
		}
		s.addr = pc.LocalAddr().String()
		s.serve(&dns.Server{PacketConn: pc, Handler: s})
		s.serve(&dns.Server{Listener: ln, Handler: s})
		return
	}
	s.t.Fatal("resolvertest: no port free for both UDP and TCP")
}

// serve starts srv, waits until it listens, and stops it at cleanup.
func (s *Server) serve(srv *dns.Server) {
	s.t.Helper()
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		s.t.Fatalf("resolvertest: serve: %v", err)
	case <-time.After(5 * time.Second):
		s.t.Fatal("resolvertest: server did not start")
	}
	s.t.Cleanup(func() { _ = srv.Shutdown() })
}

// Addr is the server's "127.0.0.1:port", the same for UDP and TCP.
func (s *Server) Addr() string { return s.addr }
