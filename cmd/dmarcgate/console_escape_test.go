package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsoleShowsHostileMailAsText: mail sent to serve whose From header,
// Subject and body hold HTML is held, and every console page that shows
// it shows the markup as text: escaped, never as elements.
func TestConsoleShowsHostileMailAsText(t *testing.T) {
	h, base := consoleHarness(t)
	msg := message("x@quar.example", "win <b>big</b> <img src=x onerror=alert(2)>")
	msg = strings.Replace(msg, "From: <x@quar.example>", `From: "<script>alert(1)</script>" <x@quar.example>`, 1)
	msg = strings.Replace(msg, "Hello there.", "<script>alert(3)</script><iframe src=//attacker.example>", 1)
	if err := sendTo(h.addr, "<script>alert(4)</script>", "x@quar.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("the hostile mail: %v", err)
	}
	cc := newConsoleClient(t, base)
	cc.login()
	var body string
	waitFor(t, 10*time.Second, "the verdict on Messages", func() bool {
		_, body = cc.do(http.MethodGet, "/messages", nil)
		return strings.Contains(body, `<tr class="o-quarantined`)
	})
	seq := regexp.MustCompile(`href="/messages/(\d+)"`).FindStringSubmatch(body)
	_, quar := cc.do(http.MethodGet, "/quarantine", nil)
	id := regexp.MustCompile(`href="/quarantine/([^"]+)"`).FindStringSubmatch(quar)
	if seq == nil || id == nil {
		t.Fatalf("no link to the message (%v) or the held one (%v)", seq, id)
	}
	pages := map[string][]string{
		"/messages":            nil,
		"/messages/" + seq[1]:  {"HELO <span class=\"mono\">&lt;script&gt;alert(4)&lt;/script&gt;</span>"},
		"/":                    nil,
		"/quarantine":          {"&lt;script&gt;alert(1)&lt;/script&gt;", "win &lt;b&gt;big&lt;/b&gt;"},
		"/quarantine/" + id[1]: {"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(3)&lt;/script&gt;&lt;iframe", "&lt;img src=x onerror=alert(2)&gt;"},
	}
	for p, want := range pages {
		code, body := cc.do(http.MethodGet, p, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", p, code)
		}
		for _, bad := range []string{"<script", "<b>", "<img", "<iframe"} {
			if i := strings.Index(body, bad); i >= 0 {
				t.Errorf("%s renders mail content as HTML: %q", p, body[max(0, i-80):min(len(body), i+80)])
			}
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not show %q as text", p, w)
			}
		}
	}
}
