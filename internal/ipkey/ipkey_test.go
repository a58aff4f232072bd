package ipkey

import "testing"

func TestKey(t *testing.T) {
	for _, c := range []struct {
		ip     string
		prefix int
		want   string
	}{
		{"192.0.2.1", 64, "192.0.2.1"},
		{"::ffff:192.0.2.1", 64, "192.0.2.1"},
		{"2001:db8::1", 64, "2001:db8::/64"},
		{"2001:db8:0:0:ffff::1", 64, "2001:db8::/64"},
		{"2001:db8:0:1::1", 64, "2001:db8:0:1::/64"},
		{"2001:db8:aa:bb::1", 48, "2001:db8:aa::/48"},
		{"2001:db8::1", 128, "2001:db8::1/128"},
		{"2001:db8::1", 0, "2001:db8::/64"},
		{"fe80::1%eth0", 64, "fe80::/64"},
		{"not an ip", 64, "not an ip"},
	} {
		if got := Key(c.ip, c.prefix); got != c.want {
			t.Errorf("Key(%q, %d) = %q, want %q", c.ip, c.prefix, got, c.want)
		}
	}
}
