package smtpd

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
)

var (
	arcResults = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_arc_results_total",
		Help: "ARC chain validation results (RFC 8617): pass, fail, none.",
	}, []string{"result"})
	arcOverrides = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_arc_overrides_total",
		Help: "DMARC failures delivered because a trusted ARC sealer recorded a pass, by sealer (one of arc.trusted_sealers).",
	}, []string{"sealer"})
)

// arcFeed validates a message's ARC chain in the pass that spools it: it
// takes the header the DKIM verifier captured (written to it just before)
// and hashes the body as it streams by, once per canonicalization the
// chain's signatures use. With no chain it does nothing per write.
type arcFeed struct {
	v       *arc.Verifier // nil: ARC is not verified
	header  func() []byte
	check   *arc.Check
	written int64
	// seal: hash the body for a set of ours too (sealBody), sharing the
	// chain's hasher where the canonicalization is the same.
	seal     bool
	sealBody *arc.BodyHasher
}

func (f *arcFeed) Write(p []byte) (int, error) {
	if f.v == nil {
		return len(p), nil
	}
	if f.check != nil {
		return f.check.Write(p)
	}
	if h := f.header(); headerComplete(h) {
		f.begin(h)
		if off := int64(len(h)) - f.written; off >= 0 && off <= int64(len(p)) {
			_, _ = f.check.Write(p[off:])
		}
	}
	f.written += int64(len(p))
	return len(p), nil
}

func (f *arcFeed) begin(header []byte) {
	f.check = f.v.Begin(header)
	if f.seal {
		f.sealBody = f.check.SealBody()
	}
}

// sealHash is the body hash a set of ours signs; nil when not sealing.
// It is read after result.
func (f *arcFeed) sealHash() []byte {
	if f.sealBody == nil {
		return nil
	}
	return f.sealBody.Sum()
}

// headerComplete: the captured header ends with its empty line.
func headerComplete(h []byte) bool {
	return string(h) == "\r\n" || string(h) == "\n" ||
		bytes.HasSuffix(h, []byte("\n\r\n")) || bytes.HasSuffix(h, []byte("\n\n"))
}

// result ends the validation; nil when ARC is not verified. A message that
// is all header has its chain checked over an empty body.
func (f *arcFeed) result(ctx context.Context) *arc.Result {
	if f.v == nil {
		return nil
	}
	if f.check == nil {
		f.begin(f.header())
	}
	r := f.check.Finish(ctx)
	arcResults.WithLabelValues(string(r.Status)).Inc()
	return &r
}

// arcAuthResult is the arc= of our Authentication-Results.
func arcAuthResult(r *arc.Result, tx Transaction) *auth.ARCResult {
	if r == nil {
		return nil
	}
	a := &auth.ARCResult{Result: string(r.Status), OldestPass: r.OldestPass}
	if tx.IP != nil {
		a.RemoteIP = tx.IP.String()
	}
	return a
}

// appendARCLog adds arc= to the message's log line and, where a trusted
// sealer's results stood in for DMARC, which sealer; for a failed chain,
// why it failed.
func appendARCLog(attrs []slog.Attr, v *Verdict) []slog.Attr {
	if v.ARC == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("arc", string(v.ARC.Status)))
	if v.ARC.Status == arc.Fail {
		attrs = append(attrs, slog.String("arc_reason", v.ARC.Reason))
	}
	if s := v.Decision.TrustedARC; s != nil {
		attrs = append(attrs, slog.String("arc_sealer", s.Sealer+" s="+s.Selector+" i="+strconv.Itoa(s.Instance)))
	}
	return attrs
}
