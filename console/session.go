package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"
)

// maxSessions bounds the sessions kept in memory; the oldest goes first.
const maxSessions = 1000

// session is one logged-in browser. It lives in memory only: a restart
// logs everyone out, which is what a console on a gateway wants.
type session struct {
	csrf    string
	expires time.Time
	flash   string // what the last change did, shown once
}

type sessions struct {
	now func() time.Time
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{now: now, ttl: ttl, m: map[string]*session{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// create starts a session and returns its cookie value.
func (ss *sessions) create() (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		ss.evict(now)
	}
	id := randomToken()
	s := &session{csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[id] = s
	return id, s
}

// evict drops expired sessions, and the one closest to expiry if none is.
func (ss *sessions) evict(now time.Time) {
	var oldest string
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		} else if oldest == "" || s.expires.Before(ss.m[oldest].expires) {
			oldest = id
		}
	}
	if len(ss.m) >= maxSessions {
		delete(ss.m, oldest)
	}
}

// get returns a copy of the live session of id, or nil.
func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if ss.now().After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	c := *s
	return &c
}

// takeFlash returns and clears the session's message.
func (ss *sessions) takeFlash(id string) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[id]; s != nil {
		f := s.flash
		s.flash = ""
		return f
	}
	return ""
}

func (ss *sessions) setFlash(id, msg string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.m[id]; s != nil {
		s.flash = msg
	}
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// tokenEqual compares secrets in constant time.
func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
