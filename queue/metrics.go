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
		Help: "Recipient delivery attempts by route and outcome (delivered, deferred, bounced).",
	}, []string{"route", "outcome"})
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
