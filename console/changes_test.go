package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// queuedID is the fixture's one queued (not held) message.
func (f *fixture) queuedID() string {
	f.t.Helper()
	all, err := f.q.List()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range all {
		if !m.Held {
			return m.ID
		}
	}
	f.t.Fatal("no queued message in the fixture")
	return ""
}

// changes are every POST that changes something, for the fixture.
func (f *fixture) changes() []string {
	q := f.queuedID()
	return []string{"/quarantine/" + f.held + "/release", "/quarantine/" + f.held + "/delete",
		"/queue/flush", "/queue/" + q + "/delete", "/logout"}
}

// TestNoChangeWithoutSessionAndToken: every change, the queue's delete
// among them, is refused without a session and, logged in, without the
// session's own token; the held and the queued message stay as they were
// and the session stays logged in. With the token the queue delete is
// made and the page says so.
func TestNoChangeWithoutSessionAndToken(t *testing.T) {
	f := newFixture(t)
	queued := f.queuedID()
	anon, c, other := f.client(), f.loggedIn(), f.loggedIn()
	otherToken := f.token(other, "/queue")
	for _, p := range f.changes() {
		for name, form := range map[string]url.Values{
			"no token": {}, "empty": {"csrf": {""}}, "wrong": {"csrf": {strings.Repeat("0", 64)}},
			"another session's": {"csrf": {otherToken}},
		} {
			if resp, _ := f.post(c, p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("logged in, %s token, POST %s: %d", name, p, resp.StatusCode)
			}
		}
		if resp, _ := f.post(anon, p, url.Values{"csrf": {otherToken}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without a session, POST %s: %d", p, resp.StatusCode)
		}
	}
	if m, err := f.q.Get(queued); err != nil || m.Held || !f.isHeld() {
		t.Fatalf("a message changed without a valid token: queued %v, held %v", err, f.isHeld())
	}
	if resp, _ := f.get(c, "/queue"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the refused logout logged the session out: %d", resp.StatusCode)
	}
	if resp, _ := f.post(c, "/queue/"+queued+"/delete", url.Values{"csrf": {f.token(c, "/queue")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("queue delete with the token: %d", resp.StatusCode)
	}
	if _, err := f.q.Get(queued); err == nil {
		t.Fatal("queue delete with the token left the message")
	}
	if _, body := f.get(c, "/queue"); !contains(body, queued+" deleted from the queue") {
		t.Errorf("the queue page does not say what was done:\n%s", body)
	}
	if !f.isHeld() {
		t.Error("deleting the queued message touched the held one")
	}
}

// TestQueueDeleteLeavesHeldMessages: the queue's delete does not reach
// into the quarantine, whose own page must be used.
func TestQueueDeleteLeavesHeldMessages(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	if resp, _ := f.post(c, "/queue/"+f.held+"/delete", url.Values{"csrf": {f.token(c, "/queue")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("queue delete of a held message: %d", resp.StatusCode)
	}
	if !f.isHeld() {
		t.Fatal("the queue's delete removed a held message")
	}
	if _, body := f.get(c, "/queue"); !contains(body, f.held+" is held in quarantine: delete it there.") {
		t.Errorf("the queue page does not say why:\n%s", body)
	}
}

// TestLoginWithoutFormCookieRefused: a login POST without the login
// form's cookie (a form posted from elsewhere) logs nobody in, even with
// the right password.
func TestLoginWithoutFormCookieRefused(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	resp, _ := f.post(c, "/login", url.Values{"csrf": {strings.Repeat("a", 64)}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the form's cookie: %d, want 403", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			t.Fatal("a session cookie was set")
		}
	}
	if resp, _ := f.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("overview after the refused login: %d", resp.StatusCode)
	}
}

var linkAttr = regexp.MustCompile(`(?i)\b(?:src|href|action)\s*=\s*"([^"]*)"`)

// TestPagesLoadNothingFromAnotherHost: every link, asset and form of
// every page stays on the console's own origin.
func TestPagesLoadNothingFromAnotherHost(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	for _, p := range append(f.pagesWithData(), "/login", "/static/console.css") {
		_, body := f.get(c, p)
		links := linkAttr.FindAllStringSubmatch(body, -1)
		if p == "/" && len(links) == 0 {
			t.Fatal("no links found on Overview: the pattern is wrong")
		}
		for _, m := range links {
			if !strings.HasPrefix(m[1], "/") && !strings.HasPrefix(m[1], "?") && !strings.HasPrefix(m[1], "#") || strings.HasPrefix(m[1], "//") {
				t.Errorf("%s refers to %q", p, m[1])
			}
		}
		if strings.Contains(body, "url(") || strings.Contains(body, "@import") {
			t.Errorf("%s loads from a style rule", p)
		}
	}
}
