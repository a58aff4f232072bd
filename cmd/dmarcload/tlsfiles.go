package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"

	"dmarcgate/smtpsink"
)

// writeSelfSigned stores a fresh self-signed certificate for the gateway
// as PEM files in dir.
func writeSelfSigned(dir, hostname string) (certFile, keyFile string, err error) {
	conf, err := smtpsink.SelfSignedTLS(hostname)
	if err != nil {
		return "", "", err
	}
	cert := conf.Certificates[0]
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
