package reporting

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	reportsGenerated = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dmarcgate_reports_generated_total",
		Help: "Aggregate reports built (one per policy domain and period).",
	})
	reportsSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dmarcgate_reports_sent_total",
		Help: "Aggregate report deliveries handed to the durable queue, one per destination.",
	})
	reportsFailed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "dmarcgate_reports_failed_total",
		Help: "Aggregate report deliveries that failed for good (bounced or dropped after reporting.drop_after).",
	})
	reportsSuppressed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_reports_suppressed_total",
		Help: "Aggregate report deliveries not attempted, by reason.",
	}, []string{"reason"}) // unauthorized, suppressed, destination_cap, period_cap
	reportRows = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "dmarcgate_report_rows",
		Help:    "Rows (records) per aggregate report.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
)

// Every series whose label values are known exists at zero from the start,
// so that rates and alerts have something to read before the first event.
func init() {
	for _, r := range []string{"unauthorized", "suppressed", "destination_cap", "period_cap"} {
		reportsSuppressed.WithLabelValues(r).Add(0)
	}
	for _, o := range []string{"queued", "rate_limited", "unauthorized", "suppressed", "disabled", "dropped"} {
		failureReportsTotal.WithLabelValues(o).Add(0)
	}
}
