package reporting

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// failureReportsTotal counts failure reports by what became of them, per
// destination: queued, rate_limited (dropped by a limit), unauthorized (an
// external destination without its _report._dmarc authorization),
// suppressed (the address bounced recently), disabled (due, but
// failure_reports.enabled is off), dropped (undeliverable for too long).
var failureReportsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "dmarcgate_failure_reports_total",
	Help: "DMARC failure reports by outcome.",
}, []string{"outcome"})

// failurePending is the number of stored reports not yet queued.
var failurePending = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "dmarcgate_failure_reports_pending",
	Help: "DMARC failure reports stored and not yet queued.",
})
