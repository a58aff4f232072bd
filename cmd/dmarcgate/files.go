package main

import (
	"crypto/tls"

	"dmarcgate/config"
	"dmarcgate/reporting"
)

// checkFiles loads the files the configuration names (the STARTTLS
// certificate and key, the key that signs reports) as serve will use them,
// so that `config check` and every command refuse a file that cannot be
// used, naming its key, instead of failing later with a runtime error.
func checkFiles(cfg *config.Config) error {
	if _, err := loadTLS(cfg); err != nil {
		return err
	}
	if f := cfg.Reporting.DKIM.KeyFile; f != "" {
		if err := reporting.CheckDKIMKey(f); err != nil {
			return &config.Error{Key: "reporting.dkim.key_file", Msg: err.Error()}
		}
	}
	return nil
}

// loadTLS is the STARTTLS configuration, nil when none is configured.
func loadTLS(cfg *config.Config) (*tls.Config, error) {
	if cfg.SMTP.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.SMTP.TLSCert, cfg.SMTP.TLSKey)
	if err != nil {
		return nil, &config.Error{Key: "smtp.tls_cert", Msg: err.Error()}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
