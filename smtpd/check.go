package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"dmarcgate/auth"
)

// CheckMessage evaluates a stored message exactly as the end of DATA would:
// SPF from the envelope, DKIM and the header from one pass over r. It
// changes no state.
func (e *Evaluator) CheckMessage(ctx context.Context, tx Transaction, r io.Reader) (*Verdict, error) {
	spf := make(chan spfResult, 1)
	go func() { spf <- spfResult{e.Checker.SPF(ctx, tx.IP, tx.HELO, tx.MailFrom)} }()
	// Kept as the spool keeps a message, so that DKIM runs as in serve.
	var kept bytes.Buffer
	dkim := e.Checker.NewDKIMVerifier(ctx, &kept)
	_, err := io.Copy(io.MultiWriter(neverFails{dkim}, &kept), r)
	dkimOut, _ := dkim.Close()
	res := <-spf
	if err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	if dkim.HeaderTooLarge() {
		// As the end of DATA: refused before any evaluation.
		return &Verdict{Action: ActionMalformed, SPF: res.SPFOutcome, DKIM: dkimOut, Reply: replyHeaderTooBig}, nil
	}
	return e.Evaluate(ctx, tx, dkim.Header(), res.SPFOutcome, dkimOut), nil
}

type spfResult struct{ auth.SPFOutcome }
