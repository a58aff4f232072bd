package reporting

import (
	"testing"
	"time"
)

// The shared per-source limit keys an IPv6 source by its prefix, as the
// local one does: a sender rotating through its /64 is one source.
func TestSharedChargeKeysIPv6ByPrefix(t *testing.T) {
	f := &FailureReporter{}
	f.limits.Store(&failureLimits{perSource: time.Hour, perDestDay: 10, perHour: 10, v6Prefix: 64})
	a := f.sharedCharge(&pendingFailure{HeaderFrom: "a.example", SourceIP: "2001:db8:1:2::1"}, nil)
	b := f.sharedCharge(&pendingFailure{HeaderFrom: "a.example", SourceIP: "2001:db8:1:2:ffff::9"}, nil)
	other := f.sharedCharge(&pendingFailure{HeaderFrom: "a.example", SourceIP: "2001:db8:1:3::1"}, nil)
	v4 := f.sharedCharge(&pendingFailure{HeaderFrom: "a.example", SourceIP: "192.0.2.7"}, nil)
	if a.IP != b.IP {
		t.Errorf("one /64, two sources: %q and %q", a.IP, b.IP)
	}
	if a.IP == other.IP {
		t.Errorf("two /64s, one source: %q", a.IP)
	}
	if v4.IP != "192.0.2.7" {
		t.Errorf("IPv4 source keyed %q", v4.IP)
	}
}
