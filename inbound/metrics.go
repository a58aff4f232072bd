package inbound

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// reportsTotal counts the reports received, by kind (aggregate, failure)
// and outcome (kept, duplicate, unreadable, foreign_domain).
var reportsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "dmarcgate_inbound_reports_total",
	Help: "DMARC reports received about our domains, by kind and outcome.",
}, []string{"kind", "outcome"})

func init() {
	for _, k := range []string{"aggregate", "failure"} {
		for _, o := range []Outcome{Kept, Duplicate, Unreadable, Foreign} {
			reportsTotal.WithLabelValues(k, string(o))
		}
	}
}
