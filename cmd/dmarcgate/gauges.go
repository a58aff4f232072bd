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
		srv *smtpd.Server
	}
)

// registerGauges exposes the open connection count. Registered once per
// process; the function reads whichever server runs now.
func registerGauges(_ *app, srv *smtpd.Server) {
	gaugeSrv.Lock()
	gaugeSrv.srv = srv
	gaugeSrv.Unlock()
	gaugesOnce.Do(func() {
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
