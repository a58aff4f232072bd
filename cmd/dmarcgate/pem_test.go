package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func pemEncode(t *testing.T, cert tls.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return certPEM, keyPEM
}
