package reporting

import (
	"bytes"
	"crypto"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"

	"dmarcgate/internal/dkimkey"
)

// dkimSigner signs report messages ([reporting.dkim]), so that receivers
// can tell our reports from forged ones.
type dkimSigner struct {
	opts dkim.SignOptions
}

// signedHeaders are the fields a report signature covers (RFC 6376 §5.4.1).
var signedHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}

// CheckDKIMKey reports whether keyFile holds a private key New can sign
// reports with. Its error reads "FILE: why": the caller names the key.
func CheckDKIMKey(keyFile string) error {
	_, err := dkimkey.Load(keyFile)
	return err
}

func readDKIMKey(keyFile string) (crypto.Signer, error) {
	key, err := dkimkey.Load(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reporting: DKIM key file %w", err)
	}
	return key.Signer(), nil
}

// loadDKIMSigner reads a PEM private key (PKCS#1 RSA, or PKCS#8 RSA or
// Ed25519: see dkimkey.Parse).
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

// sign returns msg with a DKIM-Signature field prepended.
func (s *dkimSigner) sign(msg []byte) ([]byte, error) {
	var out bytes.Buffer
	opts := s.opts
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, fmt.Errorf("reporting: DKIM signing: %w", err)
	}
	return out.Bytes(), nil
}
