package smtpd

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"dmarcgate/policy"
)

var (
	connectionsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_smtp_connections_total",
		Help: "Inbound SMTP connections by result (accepted, refused by a connection limit).",
	}, []string{"result"})
	messagesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_messages_total",
		Help: "Messages at the end of DATA by outcome.",
	}, []string{"outcome"})
	recipientsRejected = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_recipients_rejected_total",
		Help: "RCPT commands refused, by reason.",
	}, []string{"reason"})
	messageDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "dmarcgate_message_seconds",
		Help:    "Time from the end of the client's data to our reply (evaluation and durable commit).",
		Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	})
)

var tlsFailures = promauto.NewCounter(prometheus.CounterOpts{
	Name: "dmarcgate_smtp_tls_handshake_failures_total",
	Help: "STARTTLS handshakes that failed.",
})

var (
	sessionsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_smtp_sessions_total",
		Help: "Inbound SMTP sessions at their end, by transport: tls (after STARTTLS) or plain.",
	}, []string{"transport"})
	overridesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_dmarc_overrides_total",
		Help: "Messages a [[dmarc.override]] applied to, by its reason and action.",
	}, []string{"reason", "action"})
)

// Every series whose label values are known exists at zero from the start,
// so that rates and alerts have something to read before the first event.
func init() {
	connectionsTotal.WithLabelValues("accepted").Add(0)
	connectionsTotal.WithLabelValues("refused").Add(0)
	for _, o := range []string{string(ActionDeliver), string(ActionQuarantine), string(ActionHold),
		string(ActionBadFrom), string(ActionTempFail), string(ActionMalformed), "rejected", "error",
		"header_too_big", "too_big", "incomplete"} {
		messagesTotal.WithLabelValues(o).Add(0)
	}
	for _, r := range []string{"relay_denied", "unknown_user", "too_many", "verify_unavailable"} {
		recipientsRejected.WithLabelValues(r).Add(0)
	}
	for _, r := range []string{"pass", "fail", "none"} {
		arcResults.WithLabelValues(r).Add(0)
	}
	sessionsTotal.WithLabelValues("tls").Add(0)
	sessionsTotal.WithLabelValues("plain").Add(0)
	for _, r := range []string{"forwarded", "mailing_list", "trusted_forwarder", "local_policy"} {
		for _, a := range []string{"none", "quarantine", "reject"} {
			overridesTotal.WithLabelValues(r, a).Add(0)
		}
	}
}

// PrepareMetrics creates the series that depend on the configuration (one
// per trusted ARC sealer) at zero.
func PrepareMetrics(p Policy) {
	for _, s := range p.TrustedSealers {
		arcOverrides.WithLabelValues(s).Add(0)
	}
}

// countSession counts a session at its end by its transport. STARTTLS
// ends the plain session (go-smtp calls Logout once the connection is TLS)
// and the client's next EHLO begins a TLS one: only that one counts, so a
// connection counts once.
func countSession(s *session) {
	_, tlsNow := s.conn.TLSConnectionState()
	switch {
	case s.tls:
		sessionsTotal.WithLabelValues("tls").Inc()
	case !tlsNow:
		sessionsTotal.WithLabelValues("plain").Inc()
	}
}

// countOverride counts a matched [[dmarc.override]].
func countOverride(o *policy.Override) {
	if o != nil {
		overridesTotal.WithLabelValues(o.Reason, string(o.Action)).Inc()
	}
}
