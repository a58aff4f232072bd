package main

import (
	"fmt"
	"io"

	"dmarcgate/config"
	"dmarcgate/internal/dkimkey"
)

const arcUsage = "usage: dmarcgate arc key-record [--config FILE]"

// cmdARC groups the ARC commands: key-record prints the TXT record that
// publishes the public half of arc.seal_key_file, for the zone of
// arc.seal_domain, so that receivers can validate our seals.
func cmdARC(args []string, stdout io.Writer) error {
	fs, path := newFlags("arc")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "key-record" {
		return usageError{arcUsage}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if !cfg.ARC.Sealing() {
		return &config.Error{Path: *path, Key: "arc", Msg: "sealing is not configured: set seal_domain, seal_selector and seal_key_file"}
	}
	key, err := loadSealKey(cfg)
	if err != nil {
		return err
	}
	printKeyRecord(stdout, cfg.ARC, key)
	return nil
}

// printKeyRecord writes a zone-file comment and the record itself.
func printKeyRecord(w io.Writer, a config.ARC, key *dkimkey.Key) {
	kind := fmt.Sprintf("%d-bit RSA", key.Bits())
	if key.Type() == "ed25519" {
		kind = "Ed25519"
	}
	fmt.Fprintf(w, "; ARC seal key of %s, selector %s: %s, %s (from %s)\n", a.SealDomain, a.SealSelector, kind, key.Algorithm(), a.SealKeyFile)
	if key.Type() == "rsa" && key.Bits() < 2048 {
		fmt.Fprintf(w, "; a key of at least 2048 bits is recommended (RFC 8301 §3.2)\n")
	}
	fmt.Fprintln(w, key.ZoneLine(a.SealSelector, a.SealDomain))
}
