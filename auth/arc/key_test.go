package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

// txtRecord is a TXT record in zone-file syntax, split into
// character-strings of at most 255 octets.
func txtRecord(name, value string) string {
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}}
	for len(value) > 255 {
		rr.Txt, value = append(rr.Txt, value[:255]), value[255:]
	}
	rr.Txt = append(rr.Txt, value)
	return rr.String()
}

// newTestResolver serves zone on 127.0.0.1 through the real resolver.
func newTestResolver(t testing.TB, zone resolvertest.Zone) (resolver.Resolver, *resolvertest.Server) {
	t.Helper()
	srv := resolvertest.Start(t, zone)
	res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return res, srv
}

func rsaRecord(t testing.TB, bits int) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), k
}

func TestLookupKey(t *testing.T) {
	rec2048, priv := rsaRecord(t, 2048)
	short, _ := rsaRecord(t, 768)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edRec := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)
	res, srv := newTestResolver(t, resolvertest.Zone{"example.org.": {
		txtRecord("rsa._domainkey.example.org", rec2048),
		txtRecord("short._domainkey.example.org", short),
		txtRecord("ed._domainkey.example.org", edRec),
		txtRecord("revoked._domainkey.example.org", "v=DKIM1; p="),
		txtRecord("bad._domainkey.example.org", "v=DKIM1; p=!!!"),
		txtRecord("two._domainkey.example.org", rec2048),
		txtRecord("two._domainkey.example.org", edRec),
	}})
	srv.Fail("fail._domainkey.example.org.", dns.RcodeServerFailure)
	ctx := context.Background()

	data := []byte("canonical headers")
	digest := sha256.Sum256(data)
	rsaSig, _ := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:])
	edSig := ed25519.Sign(edPriv, digest[:])

	k, err := LookupKey(ctx, res, "rsa", "example.org")
	if err != nil || k.Type != "rsa" || k.Bits != 2048 {
		t.Fatalf("rsa key: %+v %v", k, err)
	}
	if err := Verify(k, RSASHA256, data, rsaSig); err != nil {
		t.Errorf("rsa signature: %v", err)
	}
	if err := Verify(k, RSASHA256, []byte("other"), rsaSig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("rsa signature over other data: %v", err)
	}
	if err := Verify(k, Ed25519SHA256, data, rsaSig); !errors.Is(err, ErrKeyPermanent) {
		t.Errorf("ed25519 a= with an rsa key: %v", err)
	}
	ek, err := LookupKey(ctx, res, "ed", "example.org")
	if err != nil || ek.Type != "ed25519" {
		t.Fatalf("ed25519 key: %+v %v", ek, err)
	}
	if err := Verify(ek, Ed25519SHA256, data, edSig); err != nil {
		t.Errorf("ed25519 signature: %v", err)
	}

	for _, sel := range []string{"short", "revoked", "bad", "two", "missing"} {
		if _, err := LookupKey(ctx, res, sel, "example.org"); !errors.Is(err, ErrKeyPermanent) {
			t.Errorf("%s: error %v, want permanent", sel, err)
		}
	}
	if _, err := LookupKey(ctx, res, "fail", "example.org"); !errors.Is(err, ErrKeyTemporary) {
		t.Errorf("SERVFAIL: error %v, want temporary", err)
	}
	if _, err := LookupKey(ctx, res, "a;b", "example.org"); !errors.Is(err, ErrKeyPermanent) {
		t.Errorf("bad selector: error %v, want permanent", err)
	}
}

func TestParseKey(t *testing.T) {
	good, _ := rsaRecord(t, 1024)
	p := strings.TrimPrefix(good, "v=DKIM1; k=rsa; p=")
	tests := []struct {
		rec string
		ok  bool
	}{
		{good, true},
		{"p=" + p, true},
		{"v=DKIM1; h=sha1:sha256; s=email; p=" + p, true},
		{"k=rsa; v=DKIM1; p=" + p, false}, // v= must come first
		{"v=DKIM2; p=" + p, false},
		{"v=DKIM1; h=sha1; p=" + p, false},
		{"v=DKIM1; s=other; p=" + p, false},
		{"v=DKIM1; k=dsa; p=" + p, false},
		{"v=DKIM1; k=ed25519; p=" + p, false},
		{"v=DKIM1", false},
		{"v=DKIM1; p=" + p[:40], false},
		{"garbage", false},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.rec)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%.40q…): %v, want ok=%v", tt.rec, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrKeyPermanent) {
			t.Errorf("ParseKey(%.40q…): error %v is not permanent", tt.rec, err)
		}
	}
}

func x509MarshalPKIX(k *rsa.PublicKey) ([]byte, error) { return x509.MarshalPKIXPublicKey(k) }
