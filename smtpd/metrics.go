package smtpd

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
