package console

import (
	"net"
	"net/http"
	"net/url"

	"golang.org/x/crypto/bcrypt"
)

const (
	sessionCookie = "dmarcgate_session"
	loginCookie   = "dmarcgate_login" // the login form's CSRF token (double submit)
	maxFormBytes  = 64 << 10
)

// request is what an authenticated handler knows of its caller.
type request struct {
	sid   string
	csrf  string
	flash string
}

// authed lets a request through only with a live session cookie, and a
// POST only with the session's CSRF token in its form.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var sess *session
		if err == nil {
			sess = s.sessions.get(c.Value)
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Forbidden: log in first.", http.StatusForbidden)
			return
		}
		req := &request{sid: c.Value, csrf: sess.csrf}
		if r.Method == http.MethodPost {
			if !s.checkForm(w, r, sess.csrf) {
				return
			}
		} else {
			req.flash = s.sessions.takeFlash(c.Value)
		}
		h(w, r, req)
	}
}

// checkForm reads a POST form and checks that it came from one of our
// pages: a same-origin Origin (when the browser sends one) and the token.
func (s *Server) checkForm(w http.ResponseWriter, r *http.Request, want string) bool {
	// "null" is what privacy settings or a no-referrer policy send for a
	// form of our own: the token decides then.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "Forbidden: the form came from another site.", http.StatusForbidden)
			return false
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request: unreadable form.", http.StatusBadRequest)
		return false
	}
	if !tokenEqual(r.PostForm.Get("csrf"), want) {
		http.Error(w, "Forbidden: the form's security token is missing or stale; reload the page and try again.", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && s.sessions.get(c.Value) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, problem string) {
	token := randomToken()
	http.SetCookie(w, s.cookie(loginCookie, token, 3600))
	s.render(w, status, "login", &frame{Title: "Log in", Hostname: s.cfg.Hostname, Page: &loginView{CSRF: token, Problem: problem}})
}

type loginView struct {
	CSRF, Problem string
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if !s.limits.allow(ip) {
		s.cfg.Logger.Warn("console login refused: too many attempts", "client", ip)
		s.renderLogin(w, http.StatusTooManyRequests, "Too many login attempts: wait a minute and try again.")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !s.checkForm(w, r, c.Value) {
		if err != nil {
			http.Error(w, "Forbidden: the login form's security token is missing; reload the page.", http.StatusForbidden)
		}
		return
	}
	if bcrypt.CompareHashAndPassword(s.cfg.PasswordHash, []byte(r.PostForm.Get("password"))) != nil {
		s.cfg.Logger.Warn("console login failed", "client", ip)
		s.renderLogin(w, http.StatusUnauthorized, "Wrong password.")
		return
	}
	id, _ := s.sessions.create()
	http.SetCookie(w, s.cookie(loginCookie, "", -1))
	http.SetCookie(w, s.cookie(sessionCookie, id, int(s.cfg.SessionTTL.Seconds())))
	s.cfg.Logger.Info("console login", "client", ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, req *request) {
	s.sessions.remove(req.sid)
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// done records what a change did, for the next page, and goes there.
func (s *Server) done(w http.ResponseWriter, r *http.Request, req *request, msg, to string) {
	s.sessions.setFlash(req.sid, msg)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
