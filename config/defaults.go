package config

import "time"

// Default returns the configuration every key falls back to.
func Default() *Config {
	return &Config{
		StateDir: "/var/lib/dmarcgate",
		Log:      Log{Level: "info", Format: "text"},
		SMTP: SMTP{
			Listen:              []string{"0.0.0.0:25"},
			MaxMessageSize:      26214400,
			MaxRecipients:       100,
			MaxConnections:      1000,
			MaxConnectionsPerIP: 20,
			IPv6Prefix:          64,
			ReadTimeout:         Duration{60 * time.Second},
			SessionTimeout:      Duration{10 * time.Minute},
		},
		DNS:   DNS{Timeout: Duration{3 * time.Second}, CacheSize: 10000},
		Relay: Relay{Protocol: "smtp"},
		Queue: Queue{
			Workers:    16,
			RetryFirst: Duration{time.Minute},
			RetryMax:   Duration{time.Hour},
			GiveUp:     Duration{5 * 24 * time.Hour},

			IdleConnTimeout: Duration{5 * time.Second},
			MaxConnMessages: 1000,
			BodyMemory:      64 << 20,

			MinFreeSpace:     1 << 30,
			MaxSpoolInFlight: 2 << 30,

			TransactionTimeout: Duration{15 * time.Minute},
			MinTransferRate:    8192,
		},
		Outbound: Outbound{Workers: 4, MaxConnectionsPerHost: 2},
		DMARC: DMARC{
			Mode:              "enforce",
			Quarantine:        "header",
			QuarantineHeader:  "X-Spam-Flag: YES",
			QuarantineExpire:  Duration{30 * 24 * time.Hour},
			OnTempError:       "tempfail",
			OrgDomain:         "treewalk",
			LegacyPct:         "testing",
			EvaluationTimeout: Duration{30 * time.Second},
		},
		Reporting: Reporting{
			Enabled:                 true,
			Interval:                Duration{24 * time.Hour},
			SendDelay:               Duration{5 * time.Minute},
			MaxPerDestinationPerDay: 50,
			MaxPerPeriod:            10000,
			DropAfter:               Duration{48 * time.Hour},
			SuppressFor:             Duration{7 * 24 * time.Hour},
			PassDisposition:         "none",
		},
		FailureReports: FailureReports{
			Enabled:                 true,
			Redact:                  true,
			PerSourceInterval:       Duration{time.Hour},
			MaxPerDestinationPerDay: 100,
			MaxPerHour:              500,
		},
		Metrics:        Metrics{Listen: "127.0.0.1:9425"},
		Cluster:        Cluster{ShipGrace: Duration{defaultShipGrace}},
		InboundReports: InboundReports{Deliver: true, Retention: Duration{400 * 24 * time.Hour}},
		ARC:            ARC{Verify: true},
	}
}

// AuthservID is the authserv-id of our Authentication-Results headers.
func (c *Config) AuthservID() string {
	if c.DMARC.AuthservID != "" {
		return c.DMARC.AuthservID
	}
	return c.Hostname
}
