package console

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"dmarcgate/queue"
)

// TestQueueDeleteNeedsSessionAndToken: deleting a queued message is a
// POST that needs a session and the page's CSRF token, like every change;
// with both, the message is gone; a held message is not deleted here.
func TestQueueDeleteNeedsSessionAndToken(t *testing.T) {
	f := newFixture(t)
	id := f.enqueue(false, "From: a@example.com\r\nSubject: to delete\r\n\r\nbody\r\n")
	path := "/queue/" + id + "/delete"
	queued := func() bool { _, err := f.q.Get(id); return err == nil }

	if resp, _ := f.post(f.client(), path, url.Values{"csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST %s without a session: %d", path, resp.StatusCode)
	}
	c := f.loggedIn()
	if resp, _ := f.get(c, path); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", path, resp.StatusCode)
	}
	for _, form := range []url.Values{{}, {"csrf": {"0000"}}} {
		if resp, _ := f.post(c, path, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with token %q: %d", path, form.Get("csrf"), resp.StatusCode)
		}
	}
	if !queued() {
		t.Fatal("deleted without a valid token")
	}
	token := f.token(c, "/queue")
	if resp, _ := f.post(c, "/queue/"+f.held+"/delete", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther || !f.isHeld() {
		t.Errorf("queue delete of a held message: %d, held %v", resp.StatusCode, f.isHeld())
	}
	if resp, _ := f.post(c, path, url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s with the token: %d", path, resp.StatusCode)
	}
	if _, err := f.q.Get(id); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, body := f.get(c, "/queue"); !contains(body, id+" deleted from the queue") {
		t.Errorf("the page does not say what was done:\n%s", body)
	}
}
