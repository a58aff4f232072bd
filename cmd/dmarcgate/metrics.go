package main

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"dmarcgate/smtpd"
)

var buildInfoOnce sync.Once

// registerBuildInfo exposes dmarcgate_build_info{version} = 1, so that a
// dashboard shows which version runs where and an upgrade is visible.
func registerBuildInfo() {
	buildInfoOnce.Do(func() {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dmarcgate_build_info",
			Help: "Always 1; the version label is the running build (git describe, or devel).",
		}, []string{"version"})
		g.WithLabelValues(buildVersion()).Set(1)
		prometheus.MustRegister(g)
	})
}

// prepareMetrics registers what the metrics endpoint shows beyond the
// packages' own counters.
func prepareMetrics(a *app, srv *smtpd.Server) {
	registerBuildInfo()
	registerGauges(a, srv)
	smtpd.PrepareMetrics(a.eval.Policy)
}
