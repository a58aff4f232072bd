package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestNoCBCOrSHA1Suites(t *testing.T) {
	for _, id := range CipherSuites() {
		name := tls.CipherSuiteName(id)
		if strings.Contains(name, "CBC") || strings.HasSuffix(name, "_SHA") || !strings.HasPrefix(name, "TLS_ECDHE_") {
			t.Errorf("suite %s allowed", name)
		}
	}
}
