package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"dmarcgate/auth"
)

// CheckMessage evaluates a stored message exactly as the end of DATA would:
// SPF from the envelope, DKIM and the header from one pass over r. A
// message over maxSize bytes (0: no limit) gets the refusal serve gives
// while reading it, and the rest of r is left unread. It changes no state.
func (e *Evaluator) CheckMessage(ctx context.Context, tx Transaction, r io.Reader, maxSize int64) (*Verdict, error) {
	spf := make(chan spfResult, 1)
	go func() { spf <- spfResult{e.Checker.SPF(ctx, tx.IP, tx.HELO, tx.MailFrom)} }()
	if maxSize > 0 {
		r = io.LimitReader(r, maxSize+1)
	}
	// Kept as the spool keeps a message, so that DKIM runs as in serve.
	var kept bytes.Buffer
	dkim := e.Checker.NewDKIMVerifier(ctx, &kept)
	defer dkim.Release()
	arcs := &arcFeed{v: e.ARC, header: dkim.Header}
	size, err := io.Copy(io.MultiWriter(neverFails{dkim}, arcs, &kept), r)
	dkimOut, _ := dkim.Close()
	res := <-spf
	if err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	if maxSize > 0 && size > maxSize {
		// As DATA: refused before the end, so nothing is evaluated.
		return &Verdict{Action: ActionTooBig, SPF: res.SPFOutcome, Reply: replyTooBig}, nil
	}
	if dkim.HeaderTooLarge() {
		// As the end of DATA: refused before any evaluation.
		return &Verdict{Action: ActionMalformed, SPF: res.SPFOutcome, DKIM: dkimOut, Reply: replyHeaderTooBig}, nil
	}
	return e.Evaluate(ctx, tx, dkim.Header(), res.SPFOutcome, dkimOut, arcs.result(ctx)), nil
}

type spfResult struct{ auth.SPFOutcome }
