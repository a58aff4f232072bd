package smtpd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"dmarcgate/auth"
	"dmarcgate/internal/logattr"
	"dmarcgate/policy"
	"dmarcgate/queue"
	"dmarcgate/reporting"
)

// A small signed message is verified at Close from the body's memory,
// which a body keeps whatever the shared budget: this fails to compile if
// the verifier would ask for more than every body keeps.
const _ = uint(queue.MemoryKept - auth.SyncVerifyLimit)

// copyBuffers recycles the buffers that DATA is streamed through, so that
// each message does not allocate its own.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Data streams the message once: into the spool and through the DKIM
// verifier (which also keeps the header section). Then it evaluates DMARC
// and replies; a 250 means the message and its report record are committed
// to disk.
func (s *session) Data(r io.Reader) error {
	s = s.snapshot()
	if !s.hasFrom {
		return replyInternal
	}
	body := s.srv.Queue.NewBody()
	body.Expect(s.opts.Size)
	// The DKIM verifier keeps the header section for us too: one copy. A
	// small signed message it verifies at Close from the body, when the
	// body is held in memory (Expect did not send it to a spool file); it
	// sees each piece before the body does.
	var kept auth.MessageBuffer
	if body.Bytes() != nil {
		kept = body
	}
	evalCtx, startLimit, stopEval := s.evalContext()
	defer stopEval()
	dkim := s.eval.Checker.NewDKIMVerifier(evalCtx, kept)
	defer dkim.Release()
	// The ARC chain is validated in the same pass, from the header the
	// DKIM verifier keeps: each body canonicalization hashed once.
	arcs := &arcFeed{v: s.eval.ARC, header: dkim.Header, seal: s.srv.Sealer != nil}
	buf := copyBuffers.Get().(*[]byte)
	var tail messageTail
	spool := &storageGuard{w: body}
	size, err := readMessage(s.conn, r, io.MultiWriter(neverFails{dkim}, arcs, spool, &tail), *buf)
	copyBuffers.Put(buf)
	startLimit()
	dkimOut, _ := dkim.Close()
	if err == nil && spool.full {
		err = queue.ErrStorageFull
	}
	if err != nil {
		body.Abort()
		return s.dataError(err, size, &tail)
	}
	header := dkim.Header()
	if dkim.HeaderOverBudget() {
		body.Abort()
		messagesTotal.WithLabelValues("no_storage").Inc()
		return replyNoStorage
	}
	if dkim.HeaderTooLarge() {
		body.Abort()
		messagesTotal.WithLabelValues("header_too_big").Inc()
		return replyHeaderTooBig
	}
	start := time.Now()
	spf := <-s.spf
	tx := Transaction{IP: s.ip, HELO: s.helo(), MailFrom: s.from, Rcpts: s.rcpts}
	v := s.eval.Evaluate(evalCtx, tx, header, spf, dkimOut, arcs.result(evalCtx))
	reply := s.finish(v, body, header, size, s.sealSet(v, header, arcs))
	s.noteVerdict(v, reply, size)
	messageDuration.Observe(time.Since(start).Seconds())
	return reply
}

// finish acts on the verdict: enqueue (deliver, quarantine, hold), record
// and refuse (reject), or refuse without a record (tempfail, bad From,
// malformed header).
func (s *session) finish(v *Verdict, body *queue.Body, header []byte, size int64, arcSet []byte) *smtp.SMTPError {
	log := s.logMessage(v, header, size)
	switch v.Action {
	case ActionBadFrom, ActionTempFail, ActionMalformed:
		body.Abort()
		messagesTotal.WithLabelValues(string(v.Action)).Inc()
		log.Info("message refused", slog.Int("reply", v.Reply.Code))
		return v.Reply
	case ActionReject:
		err := s.recordOnly(v, header, body)
		body.Abort()
		if err != nil {
			log.Error("recording a rejected message failed", slog.Any("err", err))
		}
		messagesTotal.WithLabelValues("rejected").Inc()
		log.Info("message rejected", slog.Int("reply", v.Reply.Code))
		return v.Reply
	}
	m := s.message(v, header, arcSet)
	ev := s.event(v, header, body)
	ev.QueueID = m.ID
	var extra func(tx *bolt.Tx) error
	if s.srv.Recorder != nil {
		extra = s.srv.Recorder.Record(ev)
	}
	id, err := s.srv.Queue.Enqueue(s.ctx, m, body, extra)
	if err != nil {
		messagesTotal.WithLabelValues("error").Inc()
		log.Error("spooling failed", slog.Any("err", err))
		return replyInternal
	}
	messagesTotal.WithLabelValues(string(v.Action)).Inc()
	log.Info("message accepted", slog.String("id", id))
	return replyAccepted(id)
}

// message builds the queue entry: the envelope as the client gave it, our
// trace and Authentication-Results fields first, forged A-R fields omitted;
// our ARC set, if any, between them.
func (s *session) message(v *Verdict, header []byte, arcSet []byte) *queue.Message {
	now := time.Now()
	id := queue.NewID()
	rcpts := make([]string, len(s.rcpts))
	for i, r := range s.rcpts {
		rcpts[i] = quoteAddress(r)
	}
	received := receivedHeader(s.helo(), s.ip, s.srv.Config.Hostname, id, s.rcpts, s.tlsState(), s.opts.UTF8, now)
	quarantine := ""
	if v.Action == ActionQuarantine {
		quarantine = s.eval.Policy.QuarantineHeader
	}
	// Our Authentication-Results goes on top (RFC 8601 §5), where filters
	// and MUAs look for the receiving MX's verdict, as Postfix with
	// OpenDKIM/OpenDMARC milters places it; our Received follows.
	prefix := make([]byte, 0, len(received)+len(v.AuthResults)+len(arcSet)+len(quarantine)+2)
	prefix = append(append(append(prefix, v.AuthResults...), arcSet...), received...)
	if quarantine != "" {
		prefix = append(append(prefix, quarantine...), "\r\n"...)
	}
	m := &queue.Message{
		ID:       id,
		Kind:     "mail",
		Route:    queue.RouteRelay,
		From:     quoteAddress(s.from),
		To:       rcpts,
		UTF8:     s.opts.UTF8,
		Body8Bit: s.opts.Body == smtp.Body8BitMIME,
		Prefix:   prefix,
		Received: now,
		NoDSN:    noBounce(v),
	}
	for _, r := range auth.ForgedResults(header, s.eval.Policy.AuthservID) {
		m.Omit = append(m.Omit, queue.Range{Start: int64(r.Start), End: int64(r.End)})
	}
	if v.Action == ActionHold {
		m.Held, m.HoldReason = true, v.Decision.Why
	} else if s.srv.Holder != nil {
		if why := s.srv.Holder.Hold(s.rcpts); why != "" {
			m.Held, m.HoldReason = true, why
		}
	}
	return m
}

// recordOnly commits the report record of a message that is not queued.
func (s *session) recordOnly(v *Verdict, header []byte, body *queue.Body) error {
	if s.srv.Recorder == nil || s.srv.DB == nil {
		return nil
	}
	fn := s.srv.Recorder.Record(s.event(v, header, body))
	if fn == nil {
		return nil
	}
	return s.srv.DB.Commit(s.ctx, fn)
}

// event describes the message for the reports; Original reads the body
// after the header, only if a report asks for it.
func (s *session) event(v *Verdict, header []byte, body *queue.Body) *reporting.Event {
	return &reporting.Event{
		Original:     func(n int) []byte { return body.Slice(int64(len(header)), n) },
		Time:         time.Now(),
		SourceIP:     s.ip,
		SourcePort:   s.port,
		HELO:         s.helo(),
		EnvelopeFrom: s.from,
		EnvelopeTo:   s.rcpts,
		HeaderFrom:   v.FromDomain,
		SPF:          v.SPF.ToPolicy(),
		DKIM:         dkimResults(v.DKIM),
		Discovery:    v.Discovery,
		Decision:     v.Decision,
		Header:       header,
		AuthResults:  v.AuthResults,
	}
}

func (s *session) dataError(err error, size int64, tail *messageTail) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code == smtp.ErrDataTooLarge.Code {
		messagesTotal.WithLabelValues("too_big").Inc()
		s.srv.refusedSize("DATA", s.ip, s.from, s.rcpts, size)
		return replyTooBig
	}
	if errors.Is(err, queue.ErrStorageFull) {
		messagesTotal.WithLabelValues("no_storage").Inc()
		s.srv.Logger.Warn("message refused", "client", s.ip, "from", s.from, "size", size, "err", err)
		return replyNoStorage
	}
	messagesTotal.WithLabelValues("incomplete").Inc()
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	if timeout && tail.bareLFEnd() {
		// The client thinks it ended the message and waits for our reply.
		s.logTransferFailed(size, "no end of data after a line ended by a bare LF")
		return replyBareLFEnd
	}
	s.logTransferFailed(size, err.Error())
	if timeout {
		// go-smtp closes the session after this reply (RFC 5321 §4.5.3.2).
		return replyReadTimeout
	}
	return replyTruncated
}

func (s *session) logTransferFailed(size int64, why string) {
	attrs := rcptAttrs([]slog.Attr{slog.String("client", s.ip.String()), slog.String("from", s.from)}, s.rcpts)
	s.srv.Logger.LogAttrs(context.Background(), slog.LevelInfo, "message transfer failed",
		append(attrs, slog.Int64("size", size), slog.String("err", why))...)
}

// messageTail keeps the last bytes of a message as read, to tell why its
// end never came.
type messageTail struct {
	b [5]byte
	n int
}

func (t *messageTail) Write(p []byte) (int, error) {
	if len(p) >= len(t.b) {
		copy(t.b[:], p[len(p)-len(t.b):])
		t.n = len(t.b)
		return len(p), nil
	}
	keep := min(t.n, len(t.b)-len(p))
	copy(t.b[:], t.b[t.n-keep:t.n])
	copy(t.b[keep:], p)
	t.n = keep + len(p)
	return len(p), nil
}

// bareLFEnd reports a message whose last line ends in a bare LF, or is a
// "." line after one: the sender meant "<LF>.<LF>" or "<LF>.<CR><LF>"
// as the end of data (go-smtp's reader, like RFC 5321 §4.1.1.4, takes
// only CR LF "." CR LF, and drops the dot of "<CR><LF>.<LF>").
func (t *messageTail) bareLFEnd() bool {
	b := t.b[:t.n]
	bareLF := func(i int) bool { return i >= 0 && b[i] == '\n' && (i == 0 || b[i-1] != '\r') }
	if bareLF(len(b) - 1) {
		return true
	}
	return bytes.HasSuffix(b, []byte(".\r\n")) && bareLF(len(b)-4)
}

func (s *session) logMessage(v *Verdict, header []byte, size int64) messageLog {
	dkim := make([]string, 0, len(v.DKIM))
	for _, d := range v.DKIM {
		dkim = append(dkim, d.Domain+"="+string(d.Result))
	}
	disp := v.Decision.Disposition
	if disp == "" {
		disp = policy.ActionNone
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs, slog.String("client", s.ip.String()), slog.String("helo", s.helo()),
		slog.String("from", s.from), slog.Int("rcpts", len(s.rcpts)))
	attrs = rcptAttrs(attrs, s.rcpts)
	attrs = append(attrs, slog.String("msgid", messageID(header)), slog.Int64("size", size),
		slog.String("header_from", v.FromDomain), slog.String("spf", string(v.SPF.Result)))
	if v.SPF.Err != "" && (v.SPF.Result == policy.PermError || v.SPF.Result == policy.TempError) {
		// What a postmaster asks first about an SPF error (a broken
		// record names the term at fault).
		attrs = append(attrs, slog.String("spf_reason", v.SPF.Err))
	}
	attrs = append(attrs, logattr.Strings("dkim", dkim),
		slog.String("dmarc", string(v.Decision.Result)), slog.String("policy", string(v.Decision.PolicyInForce)),
		slog.String("disposition", string(disp)), slog.String("action", string(v.Action)),
		slog.String("why", v.Decision.Why))
	return messageLog{s.srv.Logger, appendARCLog(attrs, v)}
}

// messageLog writes the one line per message: its fields, then the
// outcome's. (slog's With would format the fields into a new handler,
// for a single line.) Typed attributes spare slog boxing each value.
type messageLog struct {
	l     *slog.Logger
	attrs []slog.Attr
}

func (m messageLog) Info(msg string, attrs ...slog.Attr) {
	m.l.LogAttrs(context.Background(), slog.LevelInfo, msg, append(m.attrs, attrs...)...)
}

func (m messageLog) Error(msg string, attrs ...slog.Attr) {
	m.l.LogAttrs(context.Background(), slog.LevelError, msg, append(m.attrs, attrs...)...)
}

// neverFails keeps the DKIM verifier from stopping the spool write: a
// verifier problem becomes a DKIM result, never a lost message.
type neverFails struct{ w io.Writer }

func (n neverFails) Write(p []byte) (int, error) {
	_, _ = n.w.Write(p)
	return len(p), nil
}
