package smtpd

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/internal/logattr"
)

// Refusals a client can provoke at will (a dictionary attack on RCPT, a
// flood of connections) are logged through a token bucket per kind, so
// that they cannot fill the disk: up to logBurst lines at once, then one
// per logEvery; the next line let through says how many were suppressed.
const (
	logBurst = 20
	logEvery = time.Second
)

// Kinds of rate-limited log lines.
const (
	logRcptRefused = "recipient refused"
	logSizeRefused = "message refused for its size"
	logConnRefused = "connection refused"
	logTLSFailed   = "TLS handshake failed"
)

type logLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*logBucket
}

type logBucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

// allow takes a token of kind; when it gets one it also returns the lines
// of that kind suppressed since the last one let through.
func (l *logLimiter) allow(kind string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[string]*logBucket)
	}
	b := l.buckets[kind]
	if b == nil {
		b = &logBucket{tokens: logBurst, last: now}
		l.buckets[kind] = b
	}
	b.tokens = min(logBurst, b.tokens+float64(now.Sub(b.last))/float64(logEvery))
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	n := b.suppressed
	b.suppressed = 0
	return true, n
}

// logLimited writes one rate-limited line of kind (its message).
func (s *Server) logLimited(kind string, attrs ...slog.Attr) {
	ok, suppressed := s.limiter.allow(kind)
	if !ok {
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	s.Logger.LogAttrs(context.Background(), slog.LevelInfo, kind, attrs...)
}

// refusedRcpt counts and logs a refused RCPT; c may carry no session yet.
func (s *Server) refusedRcpt(c *smtp.Conn, reason, rcpt string) {
	recipientsRejected.WithLabelValues(reason).Inc()
	attrs := []slog.Attr{slog.String("client", remoteIP(c.Conn().RemoteAddr()))}
	if sess, ok := c.Session().(*session); ok {
		attrs = append(attrs, slog.String("from", sess.snapshot().from))
	}
	if rcpt != "" {
		attrs = append(attrs, slog.String("rcpt", rcpt))
	}
	s.logLimited(logRcptRefused, append(attrs, slog.String("reason", reason))...)
}

// tlsError is go-smtp's Server.TLSError hook.
func (s *Server) tlsError(c *smtp.Conn, err error) {
	tlsFailures.Inc()
	s.logLimited(logTLSFailed, slog.String("client", remoteIP(c.Conn().RemoteAddr())),
		slog.String("helo", c.Hostname()), slog.String("err", err.Error()))
}

// refusedConn counts and logs a connection refused by a limit (its reply).
func (s *Server) refusedConn(ip, reply string) {
	connectionsTotal.WithLabelValues("refused").Inc()
	reason := "max_connections"
	if reply == replyTooManyConnsIP {
		reason = "max_connections_per_ip"
	}
	s.logLimited(logConnRefused, slog.String("client", ip), slog.String("reason", reason))
}

// refusedSize logs a message refused for its size at stage "MAIL" (its
// SIZE= parameter), "DATA" (while it was read: size is then what came
// before the cut) or "BDAT" (size unknown: -1).
func (s *Server) refusedSize(stage string, ip net.IP, from string, rcpts []string, size int64) {
	attrs := []slog.Attr{slog.String("client", ip.String()), slog.String("from", from), slog.String("at", stage)}
	if len(rcpts) > 0 {
		attrs = rcptAttrs(attrs, rcpts)
	}
	if size >= 0 {
		attrs = append(attrs, slog.Int64("size", size))
	}
	s.logLimited(logSizeRefused, append(attrs, slog.Int64("max", s.live().cfg.MaxMessageSize))...)
}

// refusedChunk logs a BDAT chunk refused by go-smtp for passing the size
// limit; the transaction is still the session's.
func (s *Server) refusedChunk(c *smtp.Conn) {
	messagesTotal.WithLabelValues("too_big").Inc()
	ip := net.ParseIP(remoteIP(c.Conn().RemoteAddr()))
	sess, ok := c.Session().(*session)
	if !ok {
		s.refusedSize("BDAT", ip, "", nil, -1)
		return
	}
	snap := sess.snapshot()
	s.refusedSize("BDAT", ip, snap.from, snap.rcpts, -1)
}

// maxLogRcpts bounds the recipients a log line lists: go-smtp takes up to
// max_recipients, which may be thousands.
const maxLogRcpts = 20

// rcptAttrs lists the recipients under to= (the first maxLogRcpts), with
// rcpts_total= when the list is cut, so that a postmaster finds a
// message by grepping for an address.
func rcptAttrs(attrs []slog.Attr, rcpts []string) []slog.Attr {
	if len(rcpts) <= maxLogRcpts {
		return append(attrs, logattr.Strings("to", rcpts))
	}
	return append(attrs, logattr.Strings("to", rcpts[:maxLogRcpts]), slog.Int("rcpts_total", len(rcpts)))
}
