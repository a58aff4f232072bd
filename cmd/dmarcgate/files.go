package main

import (
	"dmarcgate/config"
	"dmarcgate/internal/dkimkey"
	"dmarcgate/reporting"
)

// checkFiles loads the files the configuration names (the STARTTLS
// certificate and key, the keys that sign reports and seal ARC sets) as serve will use them,
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
	if cfg.ARC.Sealing() {
		if _, err := loadSealKey(cfg); err != nil {
			return err
		}
	}
	return nil
}

// loadSealKey reads arc.seal_key_file; a key that cannot seal is a
// configuration error naming that key.
func loadSealKey(cfg *config.Config) (*dkimkey.Key, error) {
	k, err := dkimkey.Load(cfg.ARC.SealKeyFile)
	if err != nil {
		return nil, &config.Error{Key: "arc.seal_key_file", Msg: err.Error()}
	}
	return k, nil
}
