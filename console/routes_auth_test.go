package console

import (
	"net/http"
	"testing"
)

// TestDetailPagesNeedASession: the pages below a list (one report, one
// domain) send a visitor without a session to the login form as well;
// only the login form and the stylesheet answer without one.
func TestDetailPagesNeedASession(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for _, p := range []string{"/reports/1796515200/good.example", "/domains/good.example"} {
		resp, body := f.get(c, p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
		if contains(body, "good.example") {
			t.Errorf("GET %s without a session shows data: %s", p, body)
		}
	}
	for _, p := range []string{"/login", "/static/console.css"} {
		if resp, _ := f.get(c, p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}
