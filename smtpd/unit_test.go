package smtpd

import (
	"crypto/tls"
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
		"0\xb6 0@example.org":    "\"0\xb6 0\"@example.org", // bytes kept, not re-encoded
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
	ll := newLimitListener(ln, 3, 2, time.Second, time.Minute, func(_, r string) { refused <- r })
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

// deadlineCounter counts the write deadlines that reach a real connection.
type deadlineCounter struct {
	net.Conn
	set  int
	last time.Time
}

func (d *deadlineCounter) SetWriteDeadline(t time.Time) error {
	d.set++
	d.last = t
	return d.Conn.SetWriteDeadline(t)
}

// go-smtp asks for a write deadline before every reply: one that has aged
// by less than read_timeout/16 is kept, a later one is set, and an earlier
// or cleared one is set at once.
func TestWriteDeadlineRearmedOnlyWhenAged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	counter := &deadlineCounter{Conn: server}
	const idle = 16 * time.Second // re-armed once aged by a second
	c := &limitedConn{Conn: counter, l: &limitListener{idle: idle}}

	base := time.Now().Add(idle)
	steps := []struct {
		at      time.Time
		wantSet int
	}{
		{base, 1},                             // first: set
		{base.Add(10 * time.Millisecond), 1},  // barely later: kept
		{base.Add(999 * time.Millisecond), 1}, // still within a second
		{base.Add(time.Second), 2},            // aged enough: set
		{base.Add(500 * time.Millisecond), 3}, // earlier than armed: set
		{time.Time{}, 4},                      // cleared: set
		{base.Add(600 * time.Millisecond), 5}, // after a clear: set
		{base.Add(601 * time.Millisecond), 5}, // kept again
	}
	for i, s := range steps {
		if err := c.SetWriteDeadline(s.at); err != nil {
			t.Fatal(err)
		}
		if counter.set != s.wantSet {
			t.Fatalf("step %d: %d deadlines set, want %d", i, counter.set, s.wantSet)
		}
	}
	if !counter.last.Equal(base.Add(600 * time.Millisecond)) {
		t.Errorf("armed %v", counter.last)
	}
	// The kept deadline still bounds a write to a client that reads nothing.
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("250 ok\r\n")); err != nil {
		t.Fatal(err) // held until the next read
	}
	if _, err := c.Read(make([]byte, 16)); err == nil {
		t.Error("a reply past its write deadline was sent")
	}
}

func TestReceivedHeaderExact(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	plain := receivedHeader("client.example", net.ParseIP("192.0.2.7"), "mx.example.org", "ID1", []string{"bob@example.org"}, nil, false, now)
	want := "Received: from client.example ([192.0.2.7])\r\n\tby mx.example.org (dmarcgate) with ESMTP id ID1\r\n\tfor <bob@example.org>;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n"
	if plain != want {
		t.Errorf("got  %q\nwant %q", plain, want)
	}
	state := &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	secure := receivedHeader("client.example", net.ParseIP("2001:db8::1"), "mx.example.org", "ID2", []string{"a@example.org", "b@example.org"}, state, true, now)
	want = "Received: from client.example ([IPv6:2001:db8::1])\r\n\tby mx.example.org (dmarcgate) with UTF8SMTPS\r\n\t(using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256) id ID2;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n"
	if secure != want {
		t.Errorf("got  %q\nwant %q", secure, want)
	}
}

func TestSanitizeToken(t *testing.T) {
	long := strings.Repeat("a", 254) + "é" // 256 bytes: cut before the é
	cases := map[string]string{
		"":                  "unknown",
		"mail.example.org":  "mail.example.org",
		"[192.0.2.1]":       "[192.0.2.1]",
		"bad (comment); \\": "bad??comment????",
		"héllo":             "héllo",
		"in\xffvalid":       "in\uFFFDvalid",
		"tab\there":         "tab?here",
		long:                strings.Repeat("a", 254),
		"\uFFFD":            "\uFFFD",
	}
	for in, want := range cases {
		if got := sanitizeToken(in); got != want {
			t.Errorf("sanitizeToken(%q) = %q, want %q", in, got, want)
		}
	}
}
