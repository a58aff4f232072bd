package auth

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"dmarcgate/policy"
)

var authResults = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "dmarcgate_auth_results_total",
	Help: "Authentication results by method (spf, dkim, dmarc) and RFC 8601 result word.",
}, []string{"method", "result"})

// Every series exists at zero from the start, so that a rate() or an alert
// on a result not seen yet has something to read.
func init() {
	for _, m := range []string{"spf", "dkim", "dmarc"} {
		for _, r := range []policy.Result{policy.Pass, policy.Fail, policy.None, policy.Neutral,
			policy.SoftFail, policy.Policy, policy.TempError, policy.PermError} {
			authResults.WithLabelValues(m, string(r)).Add(0)
		}
	}
}

// countResult keeps the result label to the RFC 8601 words so that a bad
// value can never grow the label set.
func countResult(method string, r policy.Result) {
	switch r {
	case policy.Pass, policy.Fail, policy.None, policy.Neutral, policy.SoftFail,
		policy.Policy, policy.TempError, policy.PermError:
	default:
		r = "other"
	}
	authResults.WithLabelValues(method, string(r)).Inc()
}

// ObserveDMARC counts a DMARC verdict. Evaluation happens outside this
// package (policy.Evaluate); the caller reports the decision here once per
// message so that all authentication counters live under one name.
func ObserveDMARC(d policy.Decision) {
	r := d.Result
	if r == "" {
		r = policy.None
	}
	countResult("dmarc", r)
}
