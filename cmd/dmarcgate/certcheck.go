package main

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"dmarcgate/config"
)

// pairError names the file at fault when a certificate and key do not
// load together: the TLS package's own message names neither file, and
// says "certificate input" of a bad key file too.
func pairError(certFile, keyFile string, err error) *config.Error {
	if e := pemFileError(certFile, "CERTIFICATE"); e != "" {
		return &config.Error{Key: "smtp.tls_cert", Msg: e}
	}
	if e := pemFileError(keyFile, "PRIVATE KEY"); e != "" {
		return &config.Error{Key: "smtp.tls_key", Msg: e}
	}
	msg := strings.TrimPrefix(err.Error(), "tls: ")
	return &config.Error{Key: "smtp.tls_key", Msg: fmt.Sprintf("%s does not go with the certificate in %s: %s", keyFile, certFile, msg)}
}

// pemFileError says what is wrong with a PEM file that should hold a block
// whose type ends in kind; "" when it does.
func pemFileError(path, kind string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error() // names the file
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return fmt.Sprintf("%s: no PEM %q block in it", path, kind)
		}
		if strings.HasSuffix(b.Type, kind) {
			return ""
		}
	}
}

// loadPair is tls.LoadX509KeyPair with errors that name the file at fault.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, pairError(certFile, keyFile, err)
	}
	return cert, nil
}
