package smtpd

import (
	"testing"
	"time"
)

// The per-IP connection limit counts an IPv6 client by its /64: a host
// owns a whole /64 and can pick any address in it.
func TestLimitPerIPv6Prefix(t *testing.T) {
	l := newLimitListener(nil, 100, 2, time.Second, time.Minute, nil)
	l.v6Prefix = 64
	for _, ip := range []string{"2001:db8::1", "2001:db8::2:3"} {
		if _, ok := l.admit(ip); !ok {
			t.Fatalf("%s refused within the limit", ip)
		}
	}
	if _, ok := l.admit("2001:db8::ffff:1"); ok {
		t.Error("a third address of one /64 admitted past max_connections_per_ip = 2")
	}
	if _, ok := l.admit("2001:db8:0:1::1"); !ok {
		t.Error("an address of another /64 refused")
	}
	if _, ok := l.admit("192.0.2.1"); !ok {
		t.Error("an IPv4 address refused")
	}
}
