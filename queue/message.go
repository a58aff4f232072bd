package queue

import (
	"cmp"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Route says where a message goes.
type Route string

const (
	// RouteRelay: to the downstream mail store (relay.address).
	RouteRelay Route = "relay"
	// RouteOutbound: to the smarthost, or else the MX of each recipient's domain.
	RouteOutbound Route = "outbound"
)

// Message kinds; DSNs are never bounced.
const (
	KindMail          = "mail"
	KindDSN           = "dsn"
	KindReport        = "report"
	KindFailureReport = "failure-report"
)

// Message is one queue entry: the envelope and delivery state of a spooled
// body.
type Message struct {
	ID         string // assigned by Enqueue: short, sortable, unique
	Kind       string // KindMail, KindDSN, ...: for logs, metrics and bounce rules
	Route      Route
	From       string   // envelope sender as it goes on the wire ("" = null sender)
	To         []string // recipients still pending
	UTF8       bool     // SMTPUTF8 given by the client
	Body8Bit   bool     // BODY=8BITMIME given
	Prefix     []byte   // CRLF-terminated header lines written before the body at delivery
	Omit       []Range  // byte ranges of the spooled body skipped at delivery
	Held       bool     // quarantine hold: kept, not delivered until Release
	HoldReason string
	Received   time.Time
	Expire     time.Duration     // give-up age; 0 = Config.GiveUp
	Meta       map[string]string // free-form, kept durably
	Smarthost  string            // RouteOutbound: host:port for this message, overriding Config.Smarthost
	NoDSN      bool              // never bounce with a DSN (e.g. reports, whose bounces would loop)

	// Maintained by the queue.
	Attempts    int
	LastError   string
	NextAttempt time.Time
	Size        int64 // bytes as delivered: Prefix + body - Omit
}

// Range is a half-open byte range [Start, End) of the spooled body.
type Range struct{ Start, End int64 }

// record is what is stored for each entry.
type record struct {
	Message
	// Spooled: the body is the file spool/<ID>, not a value in bodyBucket.
	Spooled bool `json:",omitempty"`
}

var errBadAddress = errors.New("queue: invalid address")

// checkAddress refuses what must never reach an SMTP command line or a
// header: control characters (CR, LF, NUL...) and angle brackets.
func checkAddress(a string) error {
	if len(a) > 1000 {
		return fmt.Errorf("%w: too long", errBadAddress)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return fmt.Errorf("%w: %q", errBadAddress, a)
		}
	}
	return nil
}

// domainOf returns the lower-cased domain of an address (after the last @).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// validate checks and normalises a message handed to Enqueue.
func (m *Message) validate(bodyLen int64) error {
	if !validID(m.ID) {
		return fmt.Errorf("queue: invalid ID %q (use NewID)", m.ID)
	}
	if m.Route != RouteRelay && m.Route != RouteOutbound {
		return fmt.Errorf("queue: unknown route %q", m.Route)
	}
	if len(m.To) == 0 {
		return errors.New("queue: no recipients")
	}
	if err := checkAddress(m.From); err != nil {
		return err
	}
	seen := make(map[string]bool, len(m.To))
	to := make([]string, 0, len(m.To))
	for _, r := range m.To {
		if err := checkAddress(r); err != nil {
			return err
		}
		if domainOf(r) == "" {
			return fmt.Errorf("%w: %q has no domain", errBadAddress, r)
		}
		if !seen[r] {
			seen[r] = true
			to = append(to, r)
		}
	}
	m.To = to
	omit, err := normaliseRanges(m.Omit, bodyLen)
	if err != nil {
		return err
	}
	m.Omit = omit
	if m.Kind == "" {
		m.Kind = KindMail
	}
	if m.Smarthost != "" {
		if _, _, err := net.SplitHostPort(m.Smarthost); err != nil {
			return fmt.Errorf("queue: smarthost %q: %w", m.Smarthost, err)
		}
	}
	if m.Expire < 0 {
		return errors.New("queue: negative Expire")
	}
	return nil
}

// normaliseRanges sorts and merges ranges, refusing any outside the body.
func normaliseRanges(rs []Range, size int64) ([]Range, error) {
	out := slices.Clone(rs)
	for _, r := range out {
		if r.Start < 0 || r.End < r.Start || r.End > size {
			return nil, fmt.Errorf("queue: omit range [%d,%d) outside body of %d bytes", r.Start, r.End, size)
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	merged := out[:0]
	for _, r := range out {
		if r.Start == r.End {
			continue
		}
		if n := len(merged); n > 0 && r.Start <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	if len(merged) == 0 {
		return nil, nil
	}
	return merged, nil
}

// idEncoding keeps the order of the encoded integers (fixed width, ascending
// alphabet), so IDs sort by creation time.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// ids is the process's one ID generator: IDs taken with NewID before
// Enqueue and those Enqueue assigns never collide.
var ids idGen

// NewID returns a fresh queue ID, for callers that need it before Enqueue
// (a Received header naming it); pass it in Message.ID.
func NewID() string { return ids.next(time.Now()) }

// validID reports whether id has the form NewID gives.
func validID(id string) bool {
	b, err := idEncoding.DecodeString(id)
	return err == nil && len(b) == 8 && encodeID(binary.BigEndian.Uint64(b)) == id
}

// idGen hands out IDs from the clock in microseconds, strictly increasing
// even if the clock stalls or steps back.
type idGen struct {
	mu   sync.Mutex
	last uint64
}

func (g *idGen) next(now time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := uint64(max(now.UnixMicro(), 0))
	if v <= g.last {
		v = g.last + 1
	}
	g.last = v
	return encodeID(v)
}

// observe makes later IDs sort after an existing one.
func (g *idGen) observe(id string) {
	b, err := idEncoding.DecodeString(id)
	if err != nil || len(b) != 8 {
		return
	}
	g.mu.Lock()
	g.last = max(g.last, binary.BigEndian.Uint64(b))
	g.mu.Unlock()
}

func encodeID(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return idEncoding.EncodeToString(b[:])
}
