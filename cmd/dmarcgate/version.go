package main

import (
	"log/slog"
	"net"
	"runtime/debug"
	"strings"

	"dmarcgate/config"
)

// version is stamped by `make build` from `git describe --always --dirty
// --tags` (-ldflags "-X main.version=..."); empty in a plain go build.
var version string

// buildVersion is the stamped version, else the module version the Go
// toolchain recorded (a tag, or a pseudo-version from the VCS), else
// "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "devel"
}

// logStart writes the one line that says what this serve runs: the
// version, where it listens, whether it offers STARTTLS, where it relays
// and where its metrics are.
func logStart(log *slog.Logger, cfg *config.Config, smtp []net.Addr, metrics net.Addr) {
	listen := make([]string, len(smtp))
	for i, a := range smtp {
		listen[i] = a.String()
	}
	m := "off"
	if metrics != nil {
		m = metrics.String()
	}
	log.Info("dmarcgate starting", "version", buildVersion(), "smtp", strings.Join(listen, ","),
		"tls", cfg.SMTP.TLSCert != "", "relay", cfg.Relay.Address, "relay_protocol", cfg.Relay.Protocol,
		"metrics", m)
}
