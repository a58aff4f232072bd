package smtpd

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"dmarcgate/auth/arc"
)

var arcSeals = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "dmarcgate_arc_seals_total",
	Help: "ARC sets added to accepted mail (sealed), or not: skipped (RFC 8617 forbids one, or the chain could not be checked now) or error.",
}, []string{"outcome"})

// sealSet is the ARC set of ours an accepted message is relayed with
// (RFC 8617 §5.1), made once at acceptance and stored with the message,
// or nil: not sealing, a refused message, a chain whose keys could not be
// fetched now (a cv=fail for a passing chain would end it for every later
// receiver), or a chain that may not get another set.
func (s *session) sealSet(v *Verdict, header []byte, arcs *arcFeed) []byte {
	sl := s.srv.Sealer
	if sl == nil || v.ARC == nil {
		return nil
	}
	switch v.Action {
	case ActionDeliver, ActionQuarantine, ActionHold:
	default:
		return nil
	}
	bh := arcs.sealHash()
	if bh == nil {
		return nil
	}
	if v.ARC.Temporary {
		arcSeals.WithLabelValues("skipped").Inc()
		return nil
	}
	_, value, _ := strings.Cut(v.AuthResults, ":")
	id, results := arc.SplitResults(value)
	set, err := sl.Seal(arc.SealInput{Header: header, BodyHash: bh, AuthservID: id, Results: results, Chain: v.ARC.Status})
	switch {
	case errors.Is(err, arc.ErrNoSeal):
		arcSeals.WithLabelValues("skipped").Inc()
		return nil
	case err != nil:
		arcSeals.WithLabelValues("error").Inc()
		s.srv.Logger.Error("ARC sealing failed", slog.String("client", s.ip.String()), slog.Any("err", err))
		return nil
	}
	arcSeals.WithLabelValues("sealed").Inc()
	return set
}
