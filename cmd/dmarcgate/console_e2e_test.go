package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"dmarcgate/config"
)

const consolePassword = "postmaster's passphrase"

// consoleHarness runs serve with the console on a loopback port and
// quarantine by hold; it returns the console's base URL.
func consoleHarness(t *testing.T) (*harness, string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(consolePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *config.Config) {
		c.DMARC.Quarantine = "hold"
		c.Console = config.Console{Listen: "127.0.0.1:0", PasswordHash: string(hash)}
	})
	m := regexp.MustCompile(`msg="console listening" url=(http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(h.logs.String())
	if m == nil {
		t.Fatalf("no console URL in the log:\n%s", h.logs.String())
	}
	return h, m[1]
}

// sendThree sends mail that is accepted, held and rejected; it returns
// the held message.
func sendThree(t *testing.T, h *harness) (accepted, held string) {
	t.Helper()
	accepted = message("ceo@good.example", "quarterly numbers")
	if err := h.send("ceo@good.example", []string{"bob@example.org"}, accepted); err != nil {
		t.Fatalf("accepted mail: %v", err)
	}
	held = message("x@quar.example", "hold me")
	if err := h.send("x@quar.example", []string{"bob@example.org"}, held); err != nil {
		t.Fatalf("held mail: %v", err)
	}
	if err := h.send("spoof@forwarder.example", []string{"bob@example.org"}, message("ceo@good.example", "spoofed")); smtpCode(err) != "550 5.7.26" {
		t.Fatalf("spoofed mail: %v", smtpCode(err))
	}
	if _, err := h.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return accepted, held
}

type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (cc *consoleClient) do(method, path string, form url.Values) (int, string) {
	cc.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = cc.c.PostForm(cc.base+path, form)
	} else {
		resp, err = cc.c.Get(cc.base + path)
	}
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (cc *consoleClient) token(body string) string {
	m := consoleCSRF.FindStringSubmatch(body)
	if m == nil {
		cc.t.Fatalf("no CSRF token in:\n%s", body)
	}
	return m[1]
}

func (cc *consoleClient) login() {
	_, body := cc.do(http.MethodGet, "/login", nil)
	code, body := cc.do(http.MethodPost, "/login", url.Values{"csrf": {cc.token(body)}, "password": {consolePassword}})
	if code != http.StatusOK || !strings.Contains(body, "<h1>Overview</h1>") {
		cc.t.Fatalf("login: %d\n%s", code, body)
	}
}

// TestConsoleServesTheGatewaysVerdicts: serve with the console on; the
// three verdicts appear on Messages and Overview, and the held message,
// released from the Quarantine page, reaches the downstream.
func TestConsoleServesTheGatewaysVerdicts(t *testing.T) {
	h, base := consoleHarness(t)
	_, held := sendThree(t, h)
	cc := newConsoleClient(t, base)
	if code, body := cc.do(http.MethodGet, "/messages", nil); code != http.StatusOK || strings.Contains(body, "quar.example") {
		t.Fatalf("messages before login: %d", code)
	}
	cc.login()
	var body string
	waitFor(t, 10*time.Second, "three verdicts on Messages", func() bool {
		_, body = cc.do(http.MethodGet, "/messages", nil)
		return strings.Count(body, `<tr class="o-`) == 3
	})
	for _, want := range []string{"o-accepted", "o-quarantined", "o-rejected", "good.example", "quar.example", "hold"} {
		if !strings.Contains(body, want) {
			t.Errorf("Messages lacks %q", want)
		}
	}
	waitFor(t, 10*time.Second, "the overview counting three", func() bool {
		_, body = cc.do(http.MethodGet, "/", nil)
		return strings.Contains(body, `<p class="big">3 <small>messages</small></p>`)
	})
	_, body = cc.do(http.MethodGet, "/quarantine", nil)
	id := regexp.MustCompile(`href="/quarantine/([^"]+)"`).FindStringSubmatch(body)
	if id == nil || !strings.Contains(body, "hold me") {
		t.Fatalf("quarantine page:\n%s", body)
	}
	code, body := cc.do(http.MethodPost, "/quarantine/"+id[1]+"/release", url.Values{"csrf": {cc.token(body)}})
	if code != http.StatusOK || !strings.Contains(body, id[1]+" released for delivery.") {
		t.Fatalf("release: %d\n%s", code, body)
	}
	msgs, err := h.sink.Wait(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msgs[1].Data), "Subject: hold me") || !strings.Contains(held, "hold me") {
		t.Errorf("second delivery is not the released message:\n%s", msgs[1].Data)
	}
	if !strings.Contains(h.logs.String(), "quarantined message released for delivery") {
		t.Error("the release was not logged")
	}
}
