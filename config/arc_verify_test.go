package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestARCVerifyKeys(t *testing.T) {
	cfg, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ARC.Verify || len(cfg.ARC.TrustedSealers) != 0 {
		t.Errorf("defaults: verify %v, trusted %v", cfg.ARC.Verify, cfg.ARC.TrustedSealers)
	}
	cfg, err = Parse([]byte(minimal + "[arc]\ntrusted_sealers = [\" Lists.Example.NET. \", \"google.com\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lists.example.net", "google.com"}; !reflect.DeepEqual(cfg.ARC.TrustedSealers, want) {
		t.Errorf("trusted = %q, want %q", cfg.ARC.TrustedSealers, want)
	}
	for _, bad := range []string{
		"[arc]\ntrusted_sealers = [\"not a domain\"]\n",
		"[arc]\nverify = false\ntrusted_sealers = [\"lists.example.net\"]\n",
	} {
		_, err := Parse([]byte(minimal + bad))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "arc.trusted_sealers" {
			t.Errorf("%q: err = %v, want one naming arc.trusted_sealers", bad, err)
		}
	}
}
