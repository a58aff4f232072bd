package config

import (
	"errors"
	"testing"
)

func TestARCSealKeys(t *testing.T) {
	cases := []struct {
		name, section, wantKey string
		sealing                bool
	}{
		{"none", "", "", false},
		{"all three", "seal_domain = \"Lists.Example.ORG.\"\nseal_selector = \"ARC-2026\"\nseal_key_file = \"/etc/dmarcgate/arc.pem\"\n", "", true},
		{"domain only", "seal_domain = \"example.org\"\n", "arc", false},
		{"no key file", "seal_domain = \"example.org\"\nseal_selector = \"s1\"\n", "arc", false},
		{"key file only", "seal_key_file = \"/k.pem\"\n", "arc", false},
		{"domain with a space", "seal_domain = \"example .org\"\nseal_selector = \"s1\"\nseal_key_file = \"/k.pem\"\n", "arc.seal_domain", false},
		{"selector with a semicolon", "seal_domain = \"example.org\"\nseal_selector = \"s1;x\"\nseal_key_file = \"/k.pem\"\n", "arc.seal_selector", false},
		{"empty label", "seal_domain = \"example..org\"\nseal_selector = \"s1\"\nseal_key_file = \"/k.pem\"\n", "arc.seal_domain", false},
		{"unknown key", "seal_algorithm = \"rsa\"\n", "arc.seal_algorithm", false},
		{"sealing without verifying", "verify = false\nseal_domain = \"example.org\"\nseal_selector = \"s1\"\nseal_key_file = \"/k.pem\"\n", "arc.seal_domain", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(minimal + "[arc]\n" + c.section))
			if c.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.ARC.Sealing() != c.sealing {
					t.Errorf("Sealing() = %v", cfg.ARC.Sealing())
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != c.wantKey || ce.Line < 10 {
				t.Errorf("err = %v, want one naming %s and its line", err, c.wantKey)
			}
		})
	}
}

func TestARCSealNamesAreNormalised(t *testing.T) {
	cfg, err := Parse([]byte(minimal + "[arc]\nseal_domain = \" Lists.Example.ORG. \"\nseal_selector = \"ARC-2026\"\nseal_key_file = \"/k.pem\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ARC.SealDomain != "lists.example.org" || cfg.ARC.SealSelector != "arc-2026" {
		t.Errorf("domain/selector = %q/%q", cfg.ARC.SealDomain, cfg.ARC.SealSelector)
	}
}
