package main

import (
	"dmarcgate/auth/arc"
	"dmarcgate/config"
)

// newSealer is the ARC sealer of [arc], or nil when sealing is off.
func newSealer(cfg *config.Config) (*arc.Sealer, error) {
	if !cfg.ARC.Sealing() {
		return nil, nil
	}
	key, err := loadSealKey(cfg)
	if err != nil {
		return nil, err
	}
	return &arc.Sealer{Domain: cfg.ARC.SealDomain, Selector: cfg.ARC.SealSelector, Key: key.Signer()}, nil
}
