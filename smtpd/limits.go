package smtpd

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"dmarcgate/internal/ipkey"
)

// limitListener enforces max_connections and max_connections_per_ip before a
// connection reaches go-smtp, and gives each accepted connection an idle and
// an absolute deadline (so a slow-loris client holds at most one slot, and not
// for long).
type limitListener struct {
	net.Listener
	maxTotal, maxPerIP int
	v6Prefix           int // an IPv6 client counts by this prefix (ipkey)
	idle, session      time.Duration
	onReject           func(ip, reply string)

	mu       sync.Mutex
	total    int
	perIP    map[string]int // by ipkey.Key
	conns    map[*limitedConn]struct{}
	draining atomic.Bool // read on every Read: no lock
	closeOne sync.Once
}

// Close closes the listener once; later calls return nil, since both smtpd
// and go-smtp close it at shutdown.
func (l *limitListener) Close() error {
	var err error
	l.closeOne.Do(func() { err = l.Listener.Close() })
	return err
}

// drainIdle is how long a client may stay silent once shutdown began.
const drainIdle = 2 * time.Second

func newLimitListener(l net.Listener, maxTotal, maxPerIP int, idle, session time.Duration, onReject func(ip, reply string)) *limitListener {
	return &limitListener{Listener: l, maxTotal: maxTotal, maxPerIP: maxPerIP, idle: idle, session: session,
		onReject: onReject, perIP: make(map[string]int), conns: make(map[*limitedConn]struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := "", false
		if key, ok = l.admit(remoteIP(c.RemoteAddr())); !ok {
			go l.refuse(c, key)
			continue
		}
		lc := &limitedConn{Conn: c, l: l, ipKey: key, deadline: time.Now().Add(l.session)}
		l.mu.Lock()
		l.conns[lc] = struct{}{}
		l.mu.Unlock()
		return lc, nil
	}
}

// admit counts a connection from ip and returns its per-IP key, or the
// reply refusing it.
func (l *limitListener) admit(ip string) (keyOrReply string, ok bool) {
	key := ipkey.Key(ip, l.v6Prefix)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= l.maxTotal:
		return replyTooManyConns, false
	case l.perIP[key] >= l.maxPerIP:
		return replyTooManyConnsIP, false
	}
	l.total++
	l.perIP[key]++
	return key, true
}

func (l *limitListener) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	ip := c.ipKey
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// refuse answers 421 without reading anything and closes (RFC 5321 §3.8).
func (l *limitListener) refuse(c net.Conn, msg string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(msg))
	_ = c.Close()
	if l.onReject != nil {
		l.onReject(remoteIP(c.RemoteAddr()), msg)
	}
}

// drain makes idle clients time out within drainIdle so that a graceful
// shutdown does not wait for read_timeout; a client sending data goes on.
func (l *limitListener) drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.draining.Store(true)
	for c := range l.conns {
		_ = c.Conn.SetReadDeadline(time.Now().Add(drainIdle))
	}
}

// closeConns closes every admitted connection underneath go-smtp: each
// session then ends on its own goroutine. (go-smtp's Server.Close closes
// its Conns from the calling goroutine, which races with a BDAT in
// progress on them.)
func (l *limitListener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Conn.Close()
	}
}

func (l *limitListener) idleTimeout() time.Duration {
	if l.draining.Load() {
		return drainIdle
	}
	return l.idle
}

// Active returns the number of admitted connections.
func (l *limitListener) Active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

type limitedConn struct {
	net.Conn
	l        *limitListener
	ipKey    string // the client's key in perIP
	deadline time.Time
	armed    time.Time // the read deadline last set by Read
	wArmed   time.Time // the write deadline last set
	held     []byte    // replies not yet sent (see Write)
	once     sync.Once

	// DATA read beneath go-smtp (bulkdata.go).
	lineEnd bool      // the last byte go-smtp got was an LF
	bulk    *bulkData // armed for a message: go-smtp's next read is its text
	pending []byte    // read past the message, for go-smtp
}

// maxHeldReplies bounds what Write holds back; a longer run of replies (a
// client pipelining hundreds of commands) goes out in pieces this size.
const maxHeldReplies = 4096

// Write holds replies back until the session next waits for input (Read)
// or ends (Close). A client that pipelines (RFC 2920) gets the replies to a
// group of commands in one segment, as §3.2 allows a server to send them,
// instead of one write per reply; a client that waits for each reply sees
// no change, since go-smtp reads right after it replies. go-smtp writes,
// reads and closes a connection from one goroutine, so held needs no lock.
func (c *limitedConn) Write(b []byte) (int, error) {
	if len(c.held)+len(b) > maxHeldReplies {
		if err := c.flush(); err != nil {
			return 0, err
		}
		if len(b) > maxHeldReplies {
			return c.Conn.Write(b)
		}
	}
	c.held = append(c.held, b...)
	return len(b), nil
}

// flush sends the held replies (under the write deadline go-smtp set).
func (c *limitedConn) flush() error {
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	return err
}

// Read sends the held replies first. Then it gives go-smtp what DATA read
// beneath it left over, or reads a message beneath it (bulkdata.go), or
// reads the connection.
func (c *limitedConn) Read(b []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	switch {
	case len(c.pending) > 0:
		return c.readPending(b), nil
	case c.bulk != nil:
		d := c.bulk
		c.bulk = nil
		return c.readBulk(d, b)
	}
	n, err := c.readConn(b)
	if n > 0 {
		c.lineEnd = b[n-1] == '\n'
	}
	return n, err
}

// readConn reads from the connection. It re-arms the idle deadline on
// every read, capped by the session deadline: go-smtp arms its own deadline
// only per command line, which would otherwise bound a whole DATA transfer
// by read_timeout. A deadline less than a sixteenth of the idle time (at
// most a second) older than needed is left as it is: a session reads
// several times per message, and each re-arming is a timer operation.
func (c *limitedConn) readConn(b []byte) (int, error) {
	idle := c.l.idleTimeout()
	d := time.Now().Add(idle)
	if d.After(c.deadline) {
		d = c.deadline
	}
	if lag := d.Sub(c.armed); lag < 0 || lag >= min(idle/16, time.Second) {
		if err := c.Conn.SetReadDeadline(d); err != nil {
			return 0, err
		}
		c.armed = d
	}
	return c.Conn.Read(b)
}

// SetReadDeadline is ours alone (see Read).
func (c *limitedConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is called by go-smtp before every reply, with
// read_timeout from now. As in Read, a deadline set less than a sixteenth
// of read_timeout (at most a second) before the one asked for is kept: a
// reply that cannot leave in time is no less stuck for it. An earlier or a
// cleared deadline is set at once. A deadline not in the future means
// "write nothing more" (tls.Conn.Close sets one after its close_notify):
// what was written before it, held here, goes first, or the last reply
// (221, 421) and the close_notify would be lost.
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		_ = c.flush()
	}
	if lag := t.Sub(c.wArmed); t.IsZero() || lag < 0 || lag >= min(c.l.idle/16, time.Second) {
		if err := c.Conn.SetWriteDeadline(t); err != nil {
			return err
		}
		c.wArmed = t
	}
	return nil
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	_ = c.flush() // the last reply (221, 421) before the connection goes
	return c.Conn.Close()
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
