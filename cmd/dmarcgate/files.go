package main

import (
	"dmarcgate/config"
	"dmarcgate/reporting"
)

// checkFiles loads the files the configuration names (the STARTTLS
// certificate and key, the key that signs reports) as serve will use them,
// so that `config check` and every command refuse a file that cannot be
// used, naming its key, instead of failing later with a runtime error.
func checkFiles(cfg *config.Config) error {
	if cfg.SMTP.TLSCert != "" {
		if _, err := loadCertificate(cfg.SMTP.TLSCert, cfg.SMTP.TLSKey, nil); err != nil {
			return err
		}
	}
	if f := cfg.Reporting.DKIM.KeyFile; f != "" {
		if err := reporting.CheckDKIMKey(f); err != nil {
			return &config.Error{Key: "reporting.dkim.key_file", Msg: err.Error()}
		}
	}
	return nil
}
