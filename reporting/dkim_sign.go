package reporting

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/emersion/go-msgauth/dkim"
)

// dkimSigner signs report messages ([reporting.dkim]), so that receivers
// can tell our reports from forged ones.
type dkimSigner struct {
	opts dkim.SignOptions
}

// signedHeaders are the fields a report signature covers (RFC 6376 §5.4.1).
var signedHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}

// loadDKIMSigner reads a PEM private key (PKCS#1 RSA, or PKCS#8 RSA or
// Ed25519).
// CheckDKIMKey reports whether keyFile holds a private key New can sign
// reports with.
func CheckDKIMKey(keyFile string) error {
	_, err := readDKIMKey(keyFile)
	return err
}

func readDKIMKey(keyFile string) (crypto.Signer, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reporting: DKIM key: %w", err)
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("reporting: DKIM key %s: %w", keyFile, err)
	}
	return key, nil
}

func loadDKIMSigner(domain, selector, keyFile string) (*dkimSigner, error) {
	key, err := readDKIMKey(keyFile)
	if err != nil {
		return nil, err
	}
	return &dkimSigner{opts: dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	}}, nil
}

func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#1 or PKCS#8 private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

// sign returns msg with a DKIM-Signature field prepended.
func (s *dkimSigner) sign(msg []byte) ([]byte, error) {
	var out bytes.Buffer
	opts := s.opts
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, fmt.Errorf("reporting: DKIM signing: %w", err)
	}
	return out.Bytes(), nil
}
