package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"dmarcgate/console/verdicts"
	"dmarcgate/queue"
	"dmarcgate/store"
)

const testPassword = "correct horse battery"

// scriptFrom is a From field a hostile sender could write.
const scriptFrom = `"<script>alert(1)</script>" <evil@attacker.example>`

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a console over real stores in a temporary directory: a queue
// (not started: nothing is delivered) holding one message, and a ring
// with three verdicts.
type fixture struct {
	t     *testing.T
	url   string
	q     *queue.Queue
	ring  *verdicts.Ring
	held  string // ID of the held message
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "state.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := queue.New(db, queue.Config{Dir: dir, Hostname: "mx.test", RelayAddr: "127.0.0.1:1", RetryFirst: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, q: q, clock: &clock{t: time.Now()}}
	f.held = f.enqueue(true, "From: "+scriptFrom+"\r\nSubject: win <b>big</b>\r\n\r\n<img src=x onerror=alert(2)>hello\r\n")
	f.enqueue(false, "From: a@example.com\r\nSubject: queued\r\n\r\nbody\r\n")
	f.ring = verdicts.New(db, 100, nil)
	f.ring.Start()
	now := time.Now()
	for _, r := range []verdicts.Record{
		{Time: now, ClientIP: "192.0.2.10", FromDomain: "good.example", DMARC: "pass", Action: "deliver", Outcome: verdicts.Accepted, Reply: 250},
		{Time: now, ClientIP: "192.0.2.11", FromDomain: "held.example", DMARC: "fail", Action: "hold", Outcome: verdicts.Quarantined, Reply: 250},
		{Time: now, ClientIP: "192.0.2.12", FromDomain: "<script>x</script>.example", MailFrom: "<script>y</script>@example", DMARC: "fail", Action: "reject", Outcome: verdicts.Rejected, Reply: 550},
	} {
		f.ring.Add(&r)
	}
	f.ring.Close() // stored: the pages read them
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{PasswordHash: hash, Hostname: "mx.test", Version: "test", Started: now, Now: f.clock.now},
		Sources{Verdicts: f.ring, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fixture) enqueue(held bool, msg string) string {
	f.t.Helper()
	b := f.q.NewBody()
	if _, err := b.Write([]byte(msg)); err != nil {
		f.t.Fatal(err)
	}
	m := &queue.Message{ID: queue.NewID(), Kind: "mail", Route: queue.RouteRelay, From: "bounce@attacker.example",
		To: []string{"user@example.org"}, Held: held, HoldReason: "DMARC fail, p=quarantine", Received: time.Now()}
	id, err := f.q.Enqueue(context.Background(), m, b, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) isHeld() bool {
	m, err := f.q.Get(f.held)
	return err == nil && m.Held
}

// client is a browser without redirects followed, so tests see them.
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) get(c *http.Client, path string) (*http.Response, string) {
	f.t.Helper()
	resp, err := c.Get(f.url + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *fixture) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	f.t.Helper()
	resp, err := c.PostForm(f.url+path, form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of a page's forms.
func (f *fixture) token(c *http.Client, path string) string {
	f.t.Helper()
	_, body := f.get(c, path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("no CSRF field on %s:\n%s", path, body)
	}
	return m[1]
}

// login logs c in with password and returns the answer's status.
func (f *fixture) login(c *http.Client, password string) int {
	f.t.Helper()
	resp, _ := f.post(c, "/login", url.Values{"csrf": {f.token(c, "/login")}, "password": {password}})
	return resp.StatusCode
}

func (f *fixture) loggedIn() *http.Client {
	f.t.Helper()
	c := f.client()
	if code := f.login(c, testPassword); code != http.StatusSeeOther {
		f.t.Fatalf("login: %d", code)
	}
	return c
}

func contains(body string, subs ...string) bool {
	for _, s := range subs {
		if !strings.Contains(body, s) {
			return false
		}
	}
	return true
}
