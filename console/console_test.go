package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pagesWithData are every GET page; none may show anything without a session.
func (f *fixture) pagesWithData() []string {
	return []string{"/", "/messages", "/messages/1", "/messages?ip=192.0.2.11", "/queue", "/quarantine", "/quarantine/" + f.held, "/reports", "/domains"}
}

func TestWithoutPasswordNothingIsShown(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for _, p := range f.pagesWithData() {
		resp, body := f.get(c, p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(body, "192.0.2.1") || strings.Contains(body, f.held) || strings.Contains(body, "example") {
			t.Errorf("GET %s without a session shows data: %s", p, body)
		}
	}
	// A forged session cookie is no session.
	u, _ := url.Parse(f.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strings.Repeat("ab", 32)}})
	if resp, _ := f.get(c, "/queue"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}
	for _, p := range []string{"/quarantine/" + f.held + "/release", "/quarantine/" + f.held + "/delete", "/queue/flush"} {
		if resp, _ := f.post(c, p, url.Values{"csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a session: %d", p, resp.StatusCode)
		}
	}
	if !f.isHeld() {
		t.Fatal("the held message changed without a session")
	}
}

func TestWrongPasswordLogsNobodyIn(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for _, pw := range []string{"", "wrong", testPassword + " ", strings.ToUpper(testPassword)} {
		if code := f.login(c, pw); code != http.StatusUnauthorized {
			t.Errorf("password %q: %d, want 401", pw, code)
		}
		u, _ := url.Parse(f.url)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == sessionCookie {
				t.Errorf("password %q: a session cookie was set", pw)
			}
		}
		if resp, _ := f.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("password %q: overview answered %d", pw, resp.StatusCode)
		}
	}
	// The login form's own token is checked too.
	resp, _ := f.post(c, "/login", url.Values{"csrf": {"forged"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged form token: %d", resp.StatusCode)
	}
	if code := f.login(c, testPassword); code != http.StatusSeeOther {
		t.Fatalf("right password: %d", code)
	}
	if resp, body := f.get(c, "/"); resp.StatusCode != http.StatusOK || !contains(body, "good.example") {
		t.Errorf("after login: %d", resp.StatusCode)
	}
}

func TestLoginAttemptsAreLimited(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for i := range perIPBurst {
		if code := f.login(c, "guess"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := f.login(c, testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("attempt past the limit, right password: %d, want 429", code)
	}
	f.clock.add(perIPEvery)
	if code := f.login(c, testPassword); code != http.StatusSeeOther {
		t.Fatalf("after waiting: %d", code)
	}
}

func TestCSRFTokenRequired(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	other := f.loggedIn()
	otherToken := f.token(other, "/quarantine")
	release := "/quarantine/" + f.held + "/release"
	for name, form := range map[string]url.Values{
		"missing":         {},
		"empty":           {"csrf": {""}},
		"wrong":           {"csrf": {strings.Repeat("0", 64)}},
		"another session": {"csrf": {otherToken}},
	} {
		for _, p := range []string{release, "/quarantine/" + f.held + "/delete", "/queue/flush", "/logout"} {
			if resp, _ := f.post(c, p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s token, POST %s: %d", name, p, resp.StatusCode)
			}
		}
	}
	if !f.isHeld() {
		t.Fatal("the held message changed without a valid token")
	}
	// From another site, even with the token.
	token := f.token(c, "/quarantine")
	req, _ := http.NewRequest("POST", f.url+release, strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://attacker.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !f.isHeld() {
		t.Fatalf("cross-origin POST: %d, held %v", resp.StatusCode, f.isHeld())
	}
	// With the page's token the change is made, and the page says so.
	if resp, _ := f.post(c, release, url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("release with the token: %d", resp.StatusCode)
	}
	if f.isHeld() {
		t.Fatal("not released")
	}
	if _, body := f.get(c, "/quarantine"); !contains(body, f.held+" released for delivery.") {
		t.Errorf("the page does not say what was done:\n%s", body)
	}
}

func TestMailContentShownAsText(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	for _, p := range []string{"/quarantine", "/quarantine/" + f.held, "/messages", "/", "/messages/3"} {
		resp, body := f.get(c, p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "<img") || strings.Contains(body, "<b>") {
			t.Errorf("%s renders mail content as HTML:\n%s", p, body)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the <script> text", p)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers CSP %q, XFO %q", p, csp, resp.Header.Get("X-Frame-Options"))
		}
		if strings.Contains(body, " style=") || strings.Contains(body, " onclick=") || strings.Contains(body, "<script") {
			t.Errorf("%s has inline style or script", p)
		}
	}
	_, body := f.get(c, "/quarantine/"+f.held)
	if !contains(body, "&lt;img src=x onerror=alert(2)&gt;hello", "win &lt;b&gt;big&lt;/b&gt;") {
		t.Errorf("held message preview:\n%s", body)
	}
}

func TestSessionCookieAndExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	resp, _ := f.post(c, "/login", url.Values{"csrf": {f.token(c, "/login")}, "password": {testPassword}})
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || len(sc.Value) < 64 {
		t.Fatalf("session cookie %+v", sc)
	}
	if r, _ := f.get(c, "/queue"); r.StatusCode != http.StatusOK {
		t.Fatalf("queue: %d", r.StatusCode)
	}
	f.clock.add(12*time.Hour + time.Second)
	if r, _ := f.get(c, "/queue"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after expiry: %d", r.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	if resp, _ := f.post(c, "/logout", url.Values{"csrf": {f.token(c, "/")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := f.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}
