package smtpd

import (
	"net"
	"strings"
	"testing"
	"time"

	"dmarcgate/policy"
)

func TestQuoteAddress(t *testing.T) {
	cases := map[string]string{
		"alice@example.org":      "alice@example.org",
		"a.b+c@example.org":      "a.b+c@example.org",
		"john doe@example.org":   `"john doe"@example.org`,
		`we"ird@example.org`:     `"we\"ird"@example.org`,
		".dot@example.org":       `".dot"@example.org`,
		"":                       "",
		"üser@example.org":       "üser@example.org",
		`back\slash@example.org`: `"back\\slash"@example.org`,
	}
	for in, want := range cases {
		if got := quoteAddress(in); got != want {
			t.Errorf("quoteAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReceivedHeader(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	got := receivedHeader("evil\r\nX-Injected: 1", net.ParseIP("192.0.2.7"), "mx.example.org", "ID1", []string{"bob@example.org"}, nil, false, now)
	if strings.Contains(got, "\r\nX-Injected") {
		t.Fatalf("CRLF from HELO reached the header: %q", got)
	}
	for _, want := range []string{"Received: from evil??X-Injected:?1 ([192.0.2.7])", "by mx.example.org (dmarcgate) with ESMTP id ID1", "for <bob@example.org>", "Mon, 23 Nov 2026 10:00:00 +0000\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
}

func TestOverrideMatching(t *testing.T) {
	_, n, _ := net.ParseCIDR("192.0.2.0/24")
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	list := []Override{
		{Domain: "lists.example", Action: policy.ActionNone, Reason: "mailing_list"},
		{Networks: []*net.IPNet{n}, Action: policy.ActionQuarantine, Reason: "trusted_forwarder", Expires: now.Add(-time.Hour)},
		{Domain: "fwd.example", Networks: []*net.IPNet{n}, Action: policy.ActionNone, Reason: "forwarded"},
	}
	cases := []struct {
		domain, ip, wantReason string
	}{
		{"lists.example", "203.0.113.1", "mailing_list"},
		{"a.lists.example", "203.0.113.1", "mailing_list"},
		{"notlists.example", "203.0.113.1", ""},
		{"other.example", "192.0.2.9", ""}, // expired
		{"fwd.example", "192.0.2.9", "forwarded"},
		{"fwd.example", "198.51.100.1", ""},
	}
	for _, c := range cases {
		o := matchOverride(list, c.domain, net.ParseIP(c.ip), now)
		got := ""
		if o != nil {
			got = o.Reason
		}
		if got != c.wantReason {
			t.Errorf("%s from %s: %q, want %q", c.domain, c.ip, got, c.wantReason)
		}
	}
}

func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan string, 4)
	ll := newLimitListener(ln, 3, 2, time.Second, time.Minute, func(r string) { refused <- r })
	defer ll.Close()
	go func() {
		for {
			if _, err := ll.Accept(); err != nil {
				return
			}
		}
	}()
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	select {
	case r := <-refused:
		if !strings.Contains(r, "from your address") {
			t.Errorf("third connection from one IP refused with %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the per-IP limit did not refuse the third connection")
	}
	if n := ll.Active(); n != 2 {
		t.Errorf("active = %d, want 2", n)
	}
}
