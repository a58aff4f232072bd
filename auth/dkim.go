package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"dmarcgate/policy"
)

// MaxHeaderCapture bounds the copy of the header block a DKIMVerifier keeps
// (to read the signatures' tags, and for smtpd's evaluation); a longer
// header section is refused by smtpd.
const MaxHeaderCapture = 1 << 20

// maxFoldCost bounds what verifying a message may cost in joining folded
// header lines: the library appends each continuation line to its field
// (go-msgauth's readHeader), copying the field so far each time, so a
// field of n lines costs about n²/2 line lengths. Legitimate fields stay
// well below it (a Cc: of 1500 folded addresses costs about 35 MB); past
// it (seconds of CPU for one message, as the field grows) local policy
// declines to verify the signatures (dkim=policy).
const maxFoldCost = 256 << 20

// maxPickCost bounds the header fields the library inspects to find the
// ones a signature signs: for each entry of h= it scans the header from
// the bottom, so the cost is entries × fields (an h= of 20000 entries over
// 80000 fields took 28 s). Real signatures list a few dozen fields of a
// header of a few hundred; past the bound local policy declines to verify.
const maxPickCost = 2 << 20

// errVerifierClosed is returned by Write and Close after Close.
var errVerifierClosed = errors.New("auth: DKIM verifier already closed")

// errKeptLost: the caller's MessageBuffer did not hold the message.
var errKeptLost = errors.New("auth: the message buffer lost the message before DKIM verification")

// SyncVerifyLimit is the largest signed message verified at Close, in the
// caller's goroutine, from the caller's MessageBuffer. A larger one streams
// to the library on a goroutine of its own while it arrives, so that it is
// read once; a small one is spared the goroutine and the pipe, whose
// hand-offs cost as much CPU as hashing its body.
const SyncVerifyLimit = 256 << 10

// MessageBuffer is where the caller keeps the message it also writes to a
// DKIMVerifier, as the spool does anyway. Bytes returns everything written
// to it so far, or nil once it no longer holds the message in memory; it
// must hold at least the first SyncVerifyLimit bytes.
type MessageBuffer interface {
	Bytes() []byte
}

// DKIMVerifier checks the DKIM signatures of one message written through
// Write: the raw message as received, CRLF line endings. It copies nothing
// but the header block. The library runs only for a header that has a
// DKIM-Signature field: most mail in a busy MX is unsigned. A signed
// message up to SyncVerifyLimit is verified at Close from the caller's
// MessageBuffer; a larger one (or any, without a buffer) streams to the
// library while it arrives.
//
// Write may block while the verifier waits for a key from DNS (the library
// fetches keys before hashing the body, and lookups end with the context);
// it never blocks for good: when the verification ends early the rest of
// the message is discarded. Close must be called, even after an error,
// to end the verifying goroutine.
type DKIMVerifier struct {
	ctx  context.Context
	max  int
	opts *dkim.VerifyOptions
	kept MessageBuffer  // nil: always stream
	pw   *io.PipeWriter // nil until the library is started
	done chan struct{}

	// Written by the verifying goroutine, read after done is closed.
	verifs []*dkim.Verification
	verr   error

	header     []byte // the header block, up to MaxHeaderCapture
	lineStart  int    // offset in header of the line being scanned
	fieldLen   int    // length so far of the field being scanned
	fields     int    // header fields so far
	foldCost   int64  // bytes the library would copy joining folded lines
	declined   string // why the signatures are not verified (too costly)
	headerDone bool
	truncated  bool
	written    int64
	last       byte
	closed     bool
	flushed    bool  // the header went to the library, or will at Close (deferred)
	deferred   bool  // signed, to be verified at Close from kept
	lost       bool  // kept did not hold the message: nothing was verified
	order      []int // header-order index of the signature the library sees k-th
	budget     MemoryBudget
	charged    int64 // bytes of budget reserved for header beyond headerFree
	overBudget bool  // the budget could not hold the header: it was cut
}

// NewDKIMVerifier starts verifying a message. Key lookups use ctx. kept,
// if not nil, is where the caller keeps the message: write each piece to
// the verifier before kept.
func (c *Checker) NewDKIMVerifier(ctx context.Context, kept MessageBuffer) *DKIMVerifier {
	v := &DKIMVerifier{ctx: ctx, max: c.maxSignatures(), kept: kept, done: make(chan struct{}), budget: c.HeaderMemory}
	v.opts = &dkim.VerifyOptions{LookupTXT: c.dkimLookup(ctx), MaxVerifications: v.max}
	return v
}

// start decides, once, when the header ends, how the message is verified:
// not at all (no signature field), at Close (deferred: a complete header,
// a buffer and a small message so far), or by the library reading the
// rest as it streams in. It reports whether the library runs or will.
func (v *DKIMVerifier) start() bool {
	v.flushed = true
	// A header section beyond MaxHeaderCapture is never verified: the
	// message is refused for it, and the library would read all of it, at
	// a cost that grows with the square of a long folded field's length
	// (minutes of CPU for one field of a few megabytes).
	if v.truncated || !hasField(v.header, "DKIM-Signature") {
		close(v.done)
		return false
	}
	if v.declined = v.tooCostly(); v.declined != "" {
		close(v.done)
		return false
	}
	if v.kept != nil && v.headerDone && v.written <= SyncVerifyLimit {
		v.deferred = true
		return true
	}
	return v.startLibrary()
}

// tooCostly says why verifying this header would cost the library
// more than its bounds allow, or "".
func (v *DKIMVerifier) tooCostly() string {
	if v.foldCost > maxFoldCost {
		return "a header field is folded over too many lines"
	}
	entries := 0
	for _, t := range dkimSignatureTags(v.header) {
		entries += t.signed
	}
	if int64(entries)*int64(v.fields) > maxPickCost {
		return "signatures list too many header fields for this header"
	}
	return ""
}

// startLibrary runs the library on a goroutine of its own and hands it the
// header; the body follows through the pipe.
func (v *DKIMVerifier) startLibrary() bool {
	pr, pw := io.Pipe()
	v.pw = pw
	go v.run(pr, v.opts)
	_, err := pw.Write(v.arrangeHeader())
	return err == nil
}

func (v *DKIMVerifier) run(pr *io.PipeReader, opts *dkim.VerifyOptions) {
	defer close(v.done)
	defer func() {
		if r := recover(); r != nil {
			v.verifs, v.verr = nil, fmt.Errorf("auth: DKIM verification failed: %v", r)
		}
		// The library may stop reading early (no signature, a malformed
		// one): drain so that Write never blocks.
		_, _ = io.Copy(io.Discard, pr)
	}()
	v.verifs, v.verr = dkim.VerifyWithOptions(pr, opts)
}

// verifyKept runs the library here, on the message in the caller's buffer.
func (v *DKIMVerifier) verifyKept(msg []byte) {
	defer func() {
		if r := recover(); r != nil {
			v.verifs, v.verr = nil, fmt.Errorf("auth: DKIM verification failed: %v", r)
		}
	}()
	var r io.Reader = bytes.NewReader(msg)
	if header := v.arrangeHeader(); v.order != nil { // fields were moved
		r = io.MultiReader(bytes.NewReader(header), bytes.NewReader(msg[len(v.header):]))
	}
	v.verifs, v.verr = dkim.VerifyWithOptions(r, v.opts)
}

// dkimLookup adapts the resolver for the DKIM library, which takes no
// context and classifies errors through net.Error.
func (c *Checker) dkimLookup(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		txts, err := c.Resolver.LookupTXT(ctx, name)
		return txts, dnsError(err, name)
	}
}

// Write feeds message bytes. The header section is held until it is
// complete, so that the signatures to verify can be chosen (see
// arrangeHeader); the body streams straight through.
func (v *DKIMVerifier) Write(p []byte) (int, error) {
	if v.closed {
		return 0, errVerifierClosed
	}
	before := len(v.header)
	if !v.headerDone {
		headerRead.Add(int64(len(p)))
	}
	v.capture(p)
	if len(p) > 0 {
		v.written += int64(len(p))
		v.last = p[len(p)-1]
	}
	if v.flushed {
		if v.deferred {
			if v.written <= SyncVerifyLimit {
				return len(p), nil // read from kept at Close
			}
			return v.stopDeferring(p)
		}
		if v.pw == nil {
			return len(p), nil // unsigned: nothing to verify
		}
		return v.pw.Write(p)
	}
	if !v.headerDone && !v.truncated {
		return len(p), nil // still in the header
	}
	// The header just ended (or outgrew the cap) inside p: hand it over,
	// then the part of p after it.
	kept := len(v.header) - before // bytes of p now in v.header
	if !v.start() {
		if v.pw != nil {
			return 0, io.ErrClosedPipe
		}
		return len(p), nil
	}
	if v.deferred {
		return len(p), nil
	}
	if _, err := v.pw.Write(p[kept:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stopDeferring switches a deferred message that outgrew SyncVerifyLimit to
// streaming: the library gets what the buffer holds so far, then p.
func (v *DKIMVerifier) stopDeferring(p []byte) (int, error) {
	n := len(p)
	v.deferred = false
	msg := v.kept.Bytes()
	switch int64(len(msg)) {
	case v.written:
		p = nil // the caller wrote p to its buffer first
	case v.written - int64(n):
	default:
		msg = nil
	}
	if len(msg) < len(v.header) {
		v.lost = true // the buffer did not keep what it promised
		return n, nil
	}
	if !v.startLibrary() {
		return 0, io.ErrClosedPipe
	}
	if _, err := v.pw.Write(msg[len(v.header):]); err != nil {
		return 0, err
	}
	if _, err := v.pw.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// capture keeps the header block, scanning each line once. Only the
// header's bytes are copied: the body after it is not.
func (v *DKIMVerifier) capture(p []byte) {
	for !v.headerDone && !v.truncated && len(p) > 0 {
		room := MaxHeaderCapture - len(v.header)
		i := bytes.IndexByte(p[:min(len(p), room)], '\n')
		take := i + 1
		if i < 0 {
			take = min(len(p), room)
		}
		if !v.room(len(v.header) + take) {
			v.truncated, v.overBudget = true, true
			return
		}
		if i < 0 {
			if len(p) > room {
				p, v.truncated = p[:room], true
			}
			v.header = append(v.header, p...)
			return
		}
		v.header = append(v.header, p[:i+1]...)
		p = p[i+1:]
		line := v.header[v.lineStart:]
		if isBlankLine(line) {
			v.headerDone = true
			return
		}
		if (line[0] == ' ' || line[0] == '\t') && v.lineStart > 0 {
			v.foldCost += int64(v.fieldLen)
			v.fieldLen += len(line)
		} else {
			v.fieldLen = len(line)
			v.fields++
		}
		v.lineStart = len(v.header)
	}
}

// Header returns the message's header block as seen so far (complete once
// the empty line that ends it has been written, up to MaxHeaderCapture).
// Callers use it instead of keeping a copy of their own.
func (v *DKIMVerifier) Header() []byte { return v.header }

// HeaderTooLarge reports a header section longer than MaxHeaderCapture
// (only the first MaxHeaderCapture bytes were kept).
func (v *DKIMVerifier) HeaderTooLarge() bool { return v.truncated }

// Close ends the message and returns one outcome per DKIM-Signature field,
// in header order (none for an unsigned message). The error is non-nil
// only when Close was called twice, ctx ended first, or the MessageBuffer
// did not hold the message; the outcomes are then temperror.
func (v *DKIMVerifier) Close() ([]DKIMOutcome, error) {
	if v.closed {
		return nil, errVerifierClosed
	}
	if !v.flushed {
		v.start()
	}
	v.closed = true
	switch {
	case v.deferred:
		msg := v.kept.Bytes()
		if int64(len(msg)) != v.written || len(msg) < len(v.header) {
			return v.interrupted(), errKeptLost
		}
		v.verifyKept(msg)
	case v.lost:
		return v.interrupted(), errKeptLost
	case v.declined != "":
		outs := v.outcomes(nil, nil)
		for i := range outs {
			outs[i].Result, outs[i].Reason = policy.Policy, "not checked: "+v.declined
			countResult("dkim", policy.Policy)
		}
		return outs, nil
	case v.pw == nil:
		return nil, nil // no DKIM-Signature field
	default:
		if err := v.finishStream(); err != nil {
			return v.interrupted(), err
		}
	}
	outs := v.outcomes(v.verifs, v.verr)
	for _, o := range outs {
		countResult("dkim", o.Result)
	}
	return outs, nil
}

// finishStream ends the message for the library and waits for its verdict.
func (v *DKIMVerifier) finishStream() error {
	if !v.headerDone {
		// A message that is all header still has an (empty) body.
		end := "\r\n"
		if v.written > 0 && v.last != '\n' {
			end = "\r\n\r\n"
		}
		_, _ = v.pw.Write([]byte(end))
	}
	_ = v.pw.Close()
	return v.wait()
}

// interrupted is the outcome of every signature when none was verified.
func (v *DKIMVerifier) interrupted() []DKIMOutcome {
	outs := v.outcomes(nil, nil)
	for i := range outs {
		outs[i].Result, outs[i].Reason = policy.TempError, "verification interrupted"
	}
	return outs
}

// wait waits for the verification, or for ctx to end; a finished
// verification wins over a context that ended at the same time.
func (v *DKIMVerifier) wait() error {
	select {
	case <-v.done:
		return nil
	default:
	}
	select {
	case <-v.done:
		return nil
	case <-v.ctx.Done():
		return v.ctx.Err()
	}
}

// outcomes pairs the library's verdicts, in order, with the tags read from
// the header.
func (v *DKIMVerifier) outcomes(verifs []*dkim.Verification, verr error) []DKIMOutcome {
	tags := dkimSignatureTags(v.header)
	n := max(len(tags), len(verifs))
	unexpected := verr != nil && !errors.Is(verr, dkim.ErrTooManySignatures)
	outs := make([]DKIMOutcome, n)
	bs := make([]string, n)
	byHeader := make([]*dkim.Verification, n)
	for k, ver := range verifs {
		i := k
		if k < len(v.order) {
			i = v.order[k]
		}
		if i < n {
			byHeader[i] = ver
		}
	}
	for i := range outs {
		o := &outs[i]
		if i < len(tags) {
			t := tags[i]
			o.Domain, o.Selector, o.Algorithm, bs[i] = t.domain, t.selector, t.algorithm, t.b
		}
		switch {
		case unexpected:
			o.Result, o.Reason = policy.PermError, errText(verr)
		case byHeader[i] != nil:
			ver := byHeader[i]
			o.Result, o.Reason = dkimResult(ver.Err)
			if o.Domain == "" {
				o.Domain = strings.ToLower(ver.Domain)
			}
		case len(tags) > v.max || i >= v.max:
			// Local policy declined to look at it (RFC 8601 §2.7.1 "policy").
			o.Result, o.Reason = policy.Policy, fmt.Sprintf("not checked: more than %d signatures", v.max)
		default:
			o.Result, o.Reason = policy.PermError, "signature not verified"
		}
		// RFC 8301 §3.1: rsa-sha1 signatures have permanently failed.
		if o.Algorithm == "rsa-sha1" {
			o.Result, o.Reason = policy.PermError, "rsa-sha1 is not accepted (RFC 8301)"
		}
	}
	headerBPrefixes(outs, bs)
	return outs
}

// dkimResult maps the library's verdict to the RFC 8601 §2.7.1 words:
// temporary failures (no key answer) give temperror; permanent ones (bad
// tags, no or unusable key, rsa-sha1, RSA keys under 1024 bits per RFC 8301
// §3.2) give permerror; a signature or body hash that does not verify
// gives fail; an l= tag, which leaves part of the body unsigned, is refused
// by local policy.
func dkimResult(err error) (policy.Result, string) {
	switch {
	case err == nil:
		return policy.Pass, ""
	case dkim.IsTempFail(err):
		return policy.TempError, errText(err)
	case dkim.IsPermFail(err):
		return policy.PermError, errText(err)
	case strings.Contains(err.Error(), "body length"):
		return policy.Policy, errText(err)
	}
	return policy.Fail, errText(err)
}

// errText drops the library's "dkim: " prefix.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "dkim: ")
}
