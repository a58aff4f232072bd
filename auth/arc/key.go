package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"dmarcgate/resolver"
)

// Signing algorithms (a=). rsa-sha1 is not among them: RFC 8301 §3.1.
const (
	RSASHA256     = "rsa-sha256"
	Ed25519SHA256 = "ed25519-sha256" // RFC 8463
)

// MinRSABits is the smallest RSA key that can verify (RFC 8301 §3.2).
const MinRSABits = 1024

// maxRSABits bounds the work of one signature check: RFC 8301 §3.2 asks
// verifiers to handle 4096 bits; a larger key costs a sender nothing and
// us much.
const maxRSABits = 8192

// Key failures. A KeyError unwraps to one of these, so that a caller can
// tell temperror (try again later) from permerror (RFC 8601 §2.7.1).
var (
	ErrKeyTemporary = errors.New("arc: key lookup failed temporarily")
	ErrKeyPermanent = errors.New("arc: no usable key")
)

// KeyError says why no key could be had for a selector and domain.
type KeyError struct {
	Temporary bool
	Reason    string
}

func (e *KeyError) Error() string { return e.Reason }

// Unwrap returns ErrKeyTemporary or ErrKeyPermanent.
func (e *KeyError) Unwrap() error {
	if e.Temporary {
		return ErrKeyTemporary
	}
	return ErrKeyPermanent
}

func permKey(format string, args ...any) error {
	return &KeyError{Reason: fmt.Sprintf(format, args...)}
}

// Key is a public key from a DKIM key record (RFC 6376 §3.6.1), which ARC
// uses unchanged (RFC 8617 §4.1.2).
type Key struct {
	Type   string // "rsa" or "ed25519" (k=)
	Public crypto.PublicKey
	Bits   int // RSA modulus size; 256 for Ed25519
}

// KeyName is the DNS name of the key record of selector s in domain d.
func KeyName(s, d string) string {
	return s + "._domainkey." + strings.TrimSuffix(d, ".")
}

// LookupKey fetches and parses the key record of selector s in domain d
// through res. An answer of several records is used if exactly one of them
// parses as a key: RFC 6376 §3.6.2.2 leaves more to the verifier.
func LookupKey(ctx context.Context, res resolver.Resolver, s, d string) (*Key, error) {
	if !validSelectorDomain(s, d) {
		return nil, permKey("bad selector %q or domain %q", s, d)
	}
	name := KeyName(s, d)
	txts, err := res.LookupTXT(ctx, name)
	switch {
	case err == nil:
	case resolver.IsNotFound(err):
		return nil, permKey("no key record at %s", name)
	case resolver.IsTemporary(err) || ctx.Err() != nil:
		return nil, &KeyError{Temporary: true, Reason: "key lookup for " + name + " failed: " + err.Error()}
	default:
		return nil, permKey("key lookup for %s failed: %v", name, err)
	}
	var key *Key
	var lastErr error
	for _, txt := range txts {
		k, err := ParseKey(txt)
		if err != nil {
			lastErr = err
			continue
		}
		if key != nil {
			return nil, permKey("several key records at %s", name)
		}
		key = k
	}
	if key == nil {
		if lastErr == nil {
			lastErr = permKey("no key record at %s", name)
		}
		return nil, lastErr
	}
	return key, nil
}

// validSelectorDomain refuses names that would make a query of another
// shape than selector._domainkey.domain.
func validSelectorDomain(s, d string) bool {
	ok := func(x string) bool {
		return x != "" && len(x) <= 253 && !strings.ContainsAny(x, " \t\r\n\\;/") &&
			!strings.HasPrefix(x, ".") && !strings.Contains(x, "..")
	}
	return ok(s) && ok(d)
}

// ParseKey parses a DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4.2). An
// empty p= is a revoked key; RSA keys under MinRSABits are refused
// (RFC 8301 §3.2).
func ParseKey(txt string) (*Key, error) {
	tags, err := ParseTags(txt)
	if err != nil {
		return nil, permKey("bad key record: %v", err)
	}
	if v, ok := tags.Get("v"); ok && (v != "DKIM1" || tags.Names[0] != "v") {
		return nil, permKey("bad key record version %q", v)
	}
	if h, ok := tags.Get("h"); ok && !listHas(h, "sha256") {
		return nil, permKey("key record does not allow sha256 (h=%s)", h)
	}
	if s, ok := tags.Get("s"); ok && !listHas(s, "*") && !listHas(s, "email") {
		return nil, permKey("key record is not for email (s=%s)", s)
	}
	p, ok := tags.Get("p")
	if !ok {
		return nil, permKey("key record has no p=")
	}
	p = Compact(p)
	if p == "" {
		return nil, permKey("key revoked (empty p=)")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, permKey("key p= is not base64")
	}
	k := tags.Value("k")
	if k == "" {
		k = "rsa"
	}
	switch k {
	case "rsa":
		return parseRSAKey(der)
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, permKey("ed25519 key of %d octets", len(der))
		}
		return &Key{Type: "ed25519", Public: ed25519.PublicKey(der), Bits: 256}, nil
	}
	return nil, permKey("unknown key type k=%s", k)
}

// parseRSAKey reads a SubjectPublicKeyInfo, or the bare RSAPublicKey some
// publishers use.
func parseRSAKey(der []byte) (*Key, error) {
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		r, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, permKey("k=rsa record holds a key of another type")
		}
		pub = r
	} else if r, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = r
	} else {
		return nil, permKey("malformed RSA key")
	}
	bits := pub.N.BitLen()
	if bits < MinRSABits {
		return nil, permKey("RSA key of %d bits is too short (RFC 8301)", bits)
	}
	if bits > maxRSABits {
		return nil, permKey("RSA key of %d bits is too long", bits)
	}
	return &Key{Type: "rsa", Public: pub, Bits: bits}, nil
}

// listHas reports whether a colon-separated tag value lists item.
func listHas(list, item string) bool {
	for _, x := range strings.Split(list, ":") {
		if strings.TrimSpace(x) == item {
			return true
		}
	}
	return false
}

// KeyType is the k= an algorithm needs ("" for an unknown algorithm).
func KeyType(algorithm string) string {
	switch algorithm {
	case RSASHA256:
		return "rsa"
	case Ed25519SHA256:
		return "ed25519"
	}
	return ""
}

// ErrBadSignature: the signature does not verify with the key.
var ErrBadSignature = errors.New("arc: signature does not verify")

// Verify checks sig over data (the canonical header fields, already
// assembled) with key under algorithm: the SHA-256 digest of data signed
// with RSASSA-PKCS1-v1_5 or, per RFC 8463 §3, with PureEdDSA.
func Verify(key *Key, algorithm string, data, sig []byte) error {
	if KeyType(algorithm) != key.Type {
		return permKey("a=%s does not fit a %s key", algorithm, key.Type)
	}
	digest := sha256.Sum256(data)
	switch pub := key.Public.(type) {
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			return ErrBadSignature
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, digest[:], sig) {
			return ErrBadSignature
		}
	default:
		return permKey("unusable key")
	}
	return nil
}
