// Package dkimkey reads the private keys dmarcgate signs with (DKIM on its
// reports, ARC seals on relayed mail), signs hashes with them, and writes
// the DNS records that publish their public halves. It does no DNS I/O and
// parses no key records: verification lives with the verifiers.
package dkimkey

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// MinRSABits is the smallest RSA key a signer may use: verifiers must not
// accept smaller ones (RFC 8301 §3.2).
const MinRSABits = 1024

// ErrNoKey is what every error of Parse is (errors.Is), and Load's when
// the file could be read: it holds no usable private key.
var ErrNoKey = errors.New("dkimkey: no usable private key")

// keyError says why, in words for the operator, and is ErrNoKey.
type keyError struct{ reason string }

func (e *keyError) Error() string        { return e.reason }
func (e *keyError) Is(target error) bool { return target == ErrNoKey }

func noKey(format string, args ...any) error {
	return &keyError{reason: fmt.Sprintf(format, args...)}
}

// Key is a private signing key with the names DKIM and ARC give it.
type Key struct {
	signer crypto.Signer
	pub    string // the p= value, base64
}

// Load reads a PEM file (see Parse). Its errors read "PATH: why", once
// each: the caller says which key the file was meant to hold.
func Load(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // "open PATH: why" would name the path again
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Parse reads the first private key of a PEM document: PKCS#8 ("PRIVATE
// KEY", what `openssl genpkey` writes, RSA or Ed25519) or PKCS#1 ("RSA
// PRIVATE KEY"). RSA keys need MinRSABits.
func Parse(data []byte) (*Key, error) {
	sawPublic := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			return parseBlock(block)
		case "ENCRYPTED PRIVATE KEY":
			return nil, noKey("the key is encrypted; write it without a passphrase (openssl pkey -in old.pem -out new.pem)")
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			sawPublic = true
		}
	}
	if sawPublic {
		return nil, noKey("the file holds only a public key or certificate")
	}
	return nil, noKey("no PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\" block")
}

func parseBlock(block *pem.Block) (*Key, error) {
	var parsed any
	var err error
	if block.Type == "RSA PRIVATE KEY" {
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	} else {
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, noKey("%s block: %v", block.Type, err)
	}
	return fromPrivate(parsed)
}

// fromPrivate admits RSA and Ed25519 keys and computes the p= value of
// their key record (RFC 6376 §3.6.1, RFC 8463 §4): the DER
// SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519.
func fromPrivate(parsed any) (*Key, error) {
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, noKey("RSA key of %d bits; at least %d are needed (RFC 8301 §3.2)", bits, MinRSABits)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, noKey("%v", err)
		}
		return &Key{signer: k, pub: base64.StdEncoding.EncodeToString(der)}, nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, noKey("Ed25519 key of %d bytes", len(k))
		}
		pub := k.Public().(ed25519.PublicKey)
		return &Key{signer: k, pub: base64.StdEncoding.EncodeToString(pub)}, nil
	}
	return nil, noKey("%s; DKIM and ARC sign with RSA or Ed25519 only", keyKind(parsed))
}

// keyKind names a key type DKIM cannot sign with, for the operator.
func keyKind(parsed any) string {
	switch parsed.(type) {
	case *ecdsa.PrivateKey:
		return "an ECDSA key"
	case *ecdh.PrivateKey:
		return "an X25519 key"
	}
	return fmt.Sprintf("a key of type %T", parsed)
}

// FromSigner wraps an RSA or Ed25519 key held in memory (tests, generated
// keys) with the same checks as Parse.
func FromSigner(s crypto.Signer) (*Key, error) { return fromPrivate(s) }

// Signer returns the key itself.
func (k *Key) Signer() crypto.Signer { return k.signer }

// Type is the key type as the k= tag of a key record names it: "rsa" or
// "ed25519" (RFC 6376 §3.6.1, RFC 8463 §4).
func (k *Key) Type() string {
	if _, ok := k.signer.(ed25519.PrivateKey); ok {
		return "ed25519"
	}
	return "rsa"
}

// Algorithm is the a= value of the signatures the key makes.
func (k *Key) Algorithm() string { return k.Type() + "-sha256" }

// Bits is the RSA modulus size, or 256 for Ed25519.
func (k *Key) Bits() int {
	if r, ok := k.signer.(*rsa.PrivateKey); ok {
		return r.N.BitLen()
	}
	return 256
}

// SignDigest signs a SHA-256 digest: RSASSA-PKCS1-v1_5 for RSA (RFC 6376
// §3.3.1), PureEd25519 over the digest for Ed25519 (RFC 8463 §3).
func (k *Key) SignDigest(digest []byte) ([]byte, error) {
	if e, ok := k.signer.(ed25519.PrivateKey); ok {
		return ed25519.Sign(e, digest), nil
	}
	return k.signer.Sign(rand.Reader, digest, crypto.SHA256)
}

// PublicKeyData is the p= value of the key record, in base64.
func (k *Key) PublicKeyData() string { return k.pub }

// Record is the TXT record's text: "v=DKIM1; k=rsa; p=...".
func (k *Key) Record() string {
	return "v=DKIM1; k=" + k.Type() + "; p=" + k.PublicKeyData()
}

// RecordName is where the record lives: selector._domainkey.domain.
// (RFC 6376 §3.6.2.1), as an absolute name.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".") + "."
}

// ZoneLine is the record in zone-file syntax, its text split into quoted
// strings of at most 255 bytes, the limit of one TXT character-string
// (RFC 1035 §3.3.14); DNS software joins them back.
func (k *Key) ZoneLine(selector, domain string) string {
	text := k.Record()
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return RecordName(selector, domain) + " TXT " + strings.Join(parts, " ")
}
