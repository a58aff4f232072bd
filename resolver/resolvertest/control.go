package resolvertest

import (
	"time"

	"github.com/miekg/dns"
)

// key is the lower-case FQDN form under which names are kept.
func key(name string) string { return dns.CanonicalName(name) }

// Add adds one record in zone-file syntax with an absolute owner name.
func (s *Server) Add(rr string) {
	s.t.Helper()
	parsed, err := parseRR(rr, ".")
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := parsed.Header().Name
	s.records[owner] = append(s.records[owner], parsed)
}

// SetRecords replaces every record of name with rrs (none removes the
// name). Relative owners, such as "@", are relative to name; an owner
// other than name fails the test.
func (s *Server) SetRecords(name string, rrs ...string) {
	s.t.Helper()
	name = key(name)
	parsed := make([]dns.RR, 0, len(rrs))
	for _, text := range rrs {
		rr, err := parseRR(text, name)
		if err != nil {
			s.t.Fatal(err)
		}
		if rr.Header().Name != name {
			s.t.Fatalf("resolvertest: SetRecords(%q): record %q is owned by %q", name, text, rr.Header().Name)
		}
		parsed = append(parsed, rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parsed) == 0 {
		delete(s.records, name)
		return
	}
	s.records[name] = parsed
}

// Fail makes every question for name answered with rcode and no records,
// e.g. dns.RcodeServerFailure. dns.RcodeSuccess undoes it.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.rcodes, key(name))
		return
	}
	s.rcodes[key(name)] = rcode
}

// Silence makes the server never answer questions for name (they are
// still counted), so that clients time out.
func (s *Server) Silence(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silenced[key(name)] = true
}

// Truncate makes UDP answers for name empty with the TC bit set, so that
// only a client that retries over TCP gets the records.
func (s *Server) Truncate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncated[key(name)] = true
}

// Restore undoes Fail, Silence and Truncate for name.
func (s *Server) Restore(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rcodes, key(name))
	delete(s.silenced, key(name))
	delete(s.truncated, key(name))
}

// SetAD sets or clears the AD bit on every answer, as a validating
// resolver would for DNSSEC-secure data.
func (s *Server) SetAD(ad bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ad = ad
}

// SetDelay makes every answer wait d before it is sent, so that tests
// can have queries overlap.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetSOAMinimum sets the TTL and MINIMUM, in seconds, of the synthetic
// SOA sent with negative answers (RFC 2308 §5).
func (s *Server) SetSOAMinimum(seconds uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.soaMinimum = seconds
}

// QueryCount is how many questions for (name, qtype) arrived, over UDP and TCP.
func (s *Server) QueryCount(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[question{key(name), qtype}]
}

// TotalQueries is how many questions arrived in all.
func (s *Server) TotalQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetCounts sets every query counter back to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[question]int{}
	s.total = 0
}
