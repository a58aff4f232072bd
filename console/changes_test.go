package console

import (
	"net/http"
	"net/url"
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
