package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"dmarcgate/queue"
)

// Held quarantine (dmarc.quarantine = "hold") waits for a person: it is
// listed, released and deleted here, apart from the relay queue, and every
// change is logged by the process that makes it (serve, when it runs).

func init() {
	ops["quarantine-list"] = opQuarantineList
	ops["quarantine-release"] = opQuarantineRelease
	ops["quarantine-delete"] = opQuarantineDelete
}

// heldHeaderLimit bounds what is read of a held message to show its From
// and Subject.
const heldHeaderLimit = 64 << 10

// heldSummary is what a postmaster needs to decide on a held message.
type heldSummary struct {
	from, subject string
}

// summarise reads the From and Subject fields of a held message, decoded
// (RFC 2047) and made safe for one line of a terminal or a log.
func summarise(q *queue.Queue, id string) heldSummary {
	body, err := q.Body(id)
	if err != nil {
		return heldSummary{}
	}
	defer body.Close()
	h := headerFields(bufio.NewReader(io.LimitReader(body, heldHeaderLimit)), "from", "subject")
	return heldSummary{from: headerText(h["from"]), subject: headerText(h["subject"])}
}

// headerFields returns the first value of each named field (lower-case
// names), unfolded. It reads leniently, as a held message is whatever a
// failing sender wrote: a malformed line is skipped, not the end.
func headerFields(r *bufio.Reader, names ...string) map[string]string {
	out := map[string]string{}
	var name string
	var value strings.Builder
	flush := func() {
		if name != "" && slices.Contains(names, name) {
			if _, seen := out[name]; !seen {
				out[name] = value.String()
			}
		}
		name = ""
		value.Reset()
	}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break // the end of the header section, or of what was read
		}
		if line[0] == ' ' || line[0] == '\t' {
			value.WriteString(line) // RFC 5322 §2.2.3 unfolding
		} else {
			flush()
			if n, v, ok := strings.Cut(line, ":"); ok {
				name = strings.ToLower(strings.TrimSpace(n))
				value.WriteString(v)
			}
		}
		if err != nil {
			break
		}
	}
	flush()
	return out
}

// maxShown bounds a header value shown in a listing or a log line.
const maxShown = 80

var wordDecoder = mime.WordDecoder{}

// headerText decodes encoded words and replaces what a terminal or a log
// reader must not get (control characters, bidi overrides) with '?'.
func headerText(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.Join(strings.Fields(v), " ") {
		if n == maxShown {
			b.WriteString("...")
			break
		}
		if !unicode.IsPrint(r) && r != ' ' {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func opQuarantineList(ctx context.Context, a *app, w io.Writer, _ string) error {
	if a.cluster != nil {
		return clusterQuarantineList(ctx, a, w)
	}
	msgs, err := a.queue.ListHeld()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tSIZE\tMAIL FROM\tTO\tFROM\tSUBJECT\tREASON")
	now := time.Now()
	for _, m := range msgs {
		s := summarise(a.queue, m.ID)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", m.ID, now.Sub(m.Received).Truncate(time.Second), m.Size,
			envelopeFrom(m.From), strings.Join(m.To, ","), orDash(s.from), orDash(s.subject), m.HoldReason)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s)\n", len(msgs))
	return nil
}

func envelopeFrom(f string) string {
	if f == "" {
		return "<>"
	}
	return f
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// heldMessage returns the held entry id, or an error saying there is none
// (an entry of the relay queue is not one).
func heldMessage(q *queue.Queue, id string) (*queue.Message, error) {
	m, err := q.Get(id)
	if errors.Is(err, queue.ErrNotFound) || (err == nil && !m.Held) {
		return nil, fmt.Errorf("no held message %s", id)
	}
	return m, err
}

func opQuarantineRelease(ctx context.Context, a *app, w io.Writer, id string) error {
	return changeHeld(ctx, a, w, id, "release", a.queue.Release, "quarantined message released for delivery", "released for delivery")
}

func opQuarantineDelete(ctx context.Context, a *app, w io.Writer, id string) error {
	return changeHeld(ctx, a, w, id, "delete", a.queue.Delete, "quarantined message deleted", "deleted (not delivered, no DSN sent)")
}

// changeHeld releases or deletes a held message and logs it, with who
// asked.
func changeHeld(ctx context.Context, a *app, w io.Writer, id, action string, change func(string) error, logMsg, done string) error {
	m, err := heldMessage(a.queue, id)
	if err != nil && a.cluster != nil {
		return askHeldElsewhere(ctx, a, w, id, action) // held by another instance, or by none
	}
	if err != nil {
		return err
	}
	s := summarise(a.queue, id)
	if err := change(id); err != nil {
		return err
	}
	logHeld(a.log, logMsg, m, s, slog.String("by", requester(ctx)))
	fmt.Fprintf(w, "%s %s\n", id, done)
	return nil
}

func logHeld(log *slog.Logger, msg string, m *queue.Message, s heldSummary, extra ...slog.Attr) {
	attrs := []slog.Attr{slog.String("id", m.ID), slog.String("mail_from", envelopeFrom(m.From)),
		slog.String("to", strings.Join(m.To, ",")), slog.String("from", s.from), slog.String("subject", s.subject)}
	log.LogAttrs(context.Background(), slog.LevelInfo, msg, append(attrs, extra...)...)
}

// expireHeld deletes held messages older than dmarc.quarantine_expire,
// at once and then every sweep interval, until ctx ends.
func expireHeld(ctx context.Context, a *app) {
	maxAge := a.cfg.DMARC.QuarantineExpire.Duration
	every := min(time.Minute, max(maxAge/4, time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		expireHeldOnce(ctx, a, maxAge)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func expireHeldOnce(ctx context.Context, a *app, maxAge time.Duration) {
	// The summaries are read before the bodies go; a message released
	// meanwhile is not expired, and its summary is simply not used.
	held, err := a.queue.ListHeld()
	if err != nil {
		a.log.Warn("quarantine expiry: listing held messages", "err", err)
		return
	}
	cutoff := time.Now().Add(-maxAge)
	summaries := map[string]heldSummary{}
	for _, m := range held {
		if m.Received.Before(cutoff) {
			summaries[m.ID] = summarise(a.queue, m.ID)
		}
	}
	if len(summaries) == 0 {
		return
	}
	gone, err := a.queue.ExpireHeld(ctx, cutoff)
	if err != nil {
		a.log.Warn("quarantine expiry", "err", err)
		return
	}
	for i := range gone {
		m := &gone[i]
		logHeld(a.log, "quarantined message expired and deleted", m, summaries[m.ID],
			slog.Duration("age", time.Since(m.Received).Truncate(time.Second)), slog.Duration("quarantine_expire", maxAge))
	}
}
