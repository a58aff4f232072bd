package queue

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	queueDepth = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "dmarcgate_queue_depth",
		Help: "Entries waiting for delivery; held quarantine is not counted (see dmarcgate_quarantine_held).",
	})
	quarantineHeld = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "dmarcgate_quarantine_held",
		Help: "Messages held by dmarc.quarantine = \"hold\", waiting for release, delete or expiry.",
	})
	queueOldestAge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "dmarcgate_queue_oldest_age_seconds",
		Help: "Age of the oldest entry waiting for delivery, held quarantine not counted (0 when none).",
	})
	deliveryAttempts = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_delivery_attempts_total",
		Help: "Delivery attempts (one per queue entry tried, whatever its recipient count) by route and outcome: delivered, deferred, bounced (all recipients alike) or mixed.",
	}, []string{"route", "outcome"})
	deliveryRecipients = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_delivery_recipients_total",
		Help: "Recipients of delivery attempts by route and outcome (delivered, deferred, bounced).",
	}, []string{"route", "outcome"})
	reportMessages = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_report_messages_total",
		Help: "DMARC report mail by kind (aggregate, failure) and outcome, one per destination: queued, delivered, failed (bounced or given up).",
	}, []string{"kind", "outcome"})
	dsnTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dmarcgate_dsn_total",
		Help: "Delivery status notifications (bounces) generated.",
	})
	poolConnections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_delivery_connections_total",
		Help: "Delivery connections by event: opened, reused (taken from the idle pool), stale (found closed by the server and replaced).",
	}, []string{"event"})
	bodiesSpooled = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_bodies_spooled_total",
		Help: "Message bodies kept in a spool file rather than in memory, by reason: size (over 1 MiB, or announced so) or memory (the shared in-memory budget was used up).",
	}, []string{"reason"})
	verifyChecks = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_recipient_verify_total",
		Help: "Recipient verification answers by result (exists, unknown, unavailable) and source (cache, probe).",
	}, []string{"result", "source"})
)

// Every series whose label values are known exists at zero from the start,
// so that rates and alerts have something to read before the first event.
func init() {
	for _, r := range []Route{RouteRelay, RouteOutbound} {
		for _, o := range []string{"delivered", "deferred", "bounced", "mixed"} {
			deliveryAttempts.WithLabelValues(string(r), o).Add(0)
			if o != "mixed" {
				deliveryRecipients.WithLabelValues(string(r), o).Add(0)
			}
		}
	}
	for _, k := range []string{"aggregate", "failure"} {
		for _, o := range []string{"queued", "delivered", "failed"} {
			reportMessages.WithLabelValues(k, o).Add(0)
		}
	}
	for _, e := range []string{"opened", "reused", "stale"} {
		poolConnections.WithLabelValues(e).Add(0)
	}
	bodiesSpooled.WithLabelValues("size").Add(0)
	bodiesSpooled.WithLabelValues("memory").Add(0)
	for _, r := range []string{"exists", "unknown", "unavailable"} {
		verifyChecks.WithLabelValues(r, "cache").Add(0)
		verifyChecks.WithLabelValues(r, "probe").Add(0)
	}
}

// reportKind is the kind label of report mail; "" for other mail.
func reportKind(kind string) string {
	switch kind {
	case KindReport:
		return "aggregate"
	case KindFailureReport:
		return "failure"
	}
	return ""
}

// countOutcome counts one delivery attempt of rec and its recipients.
func countOutcome(rec *record, o outcome) {
	route := string(rec.Route)
	d, t, b := o.delivered, len(o.deferred), len(o.bounced)
	deliveryRecipients.WithLabelValues(route, "delivered").Add(float64(d))
	deliveryRecipients.WithLabelValues(route, "deferred").Add(float64(t))
	deliveryRecipients.WithLabelValues(route, "bounced").Add(float64(b))
	if o.interrupted && d+b == 0 {
		return // cut short by shutdown: not an attempt (reschedule does not count it either)
	}
	outcome := "mixed"
	switch d + t + b {
	case d:
		outcome = "delivered"
	case t:
		outcome = "deferred"
	case b:
		outcome = "bounced"
	}
	deliveryAttempts.WithLabelValues(route, outcome).Inc()
	if k := reportKind(rec.Kind); k != "" {
		reportMessages.WithLabelValues(k, "delivered").Add(float64(d))
		reportMessages.WithLabelValues(k, "failed").Add(float64(b))
	}
}

// countQueued counts report mail entering the queue, per destination.
func countQueued(rec *record) {
	if k := reportKind(rec.Kind); k != "" {
		reportMessages.WithLabelValues(k, "queued").Add(float64(len(rec.To)))
	}
}
