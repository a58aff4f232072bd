package main

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"dmarcgate/smtpd"
)

var (
	gaugesOnce sync.Once
	gaugeSrv   struct {
		sync.Mutex
		srv  *smtpd.Server
		cert *certificate // nil without STARTTLS
	}
)

// registerGauges exposes the open connection count and when the STARTTLS
// certificate in use expires (for alerts before it does). Registered once
// per process; the functions read whichever server runs now.
func registerGauges(a *app, srv *smtpd.Server) {
	gaugeSrv.Lock()
	gaugeSrv.srv, gaugeSrv.cert = srv, a.tlsCert
	gaugeSrv.Unlock()
	gaugesOnce.Do(func() {
		prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dmarcgate_tls_certificate_expiry_timestamp_seconds",
			Help: "When the STARTTLS certificate in use expires (Unix time); 0 without STARTTLS.",
		}, func() float64 {
			gaugeSrv.Lock()
			defer gaugeSrv.Unlock()
			if gaugeSrv.cert == nil {
				return 0
			}
			return float64(gaugeSrv.cert.notAfter().Unix())
		}))
		prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dmarcgate_smtp_connections_active",
			Help: "Open inbound SMTP connections.",
		}, func() float64 {
			gaugeSrv.Lock()
			defer gaugeSrv.Unlock()
			if gaugeSrv.srv == nil {
				return 0
			}
			return float64(gaugeSrv.srv.Active())
		}))
	})
}
