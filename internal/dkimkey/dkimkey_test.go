package dkimkey

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rfc8463 = "../../testdata/dkim/rfc8463"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rfc8463Records are the key records RFC 8463 Appendix A.2 publishes.
func rfc8463Records(t *testing.T) map[string]string {
	var recs map[string][]string
	if err := json.Unmarshal(readFile(t, filepath.Join(rfc8463, "dns-txt.json")), &recs); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, v := range recs {
		out[name] = strings.Join(v, "")
	}
	return out
}

func TestKeysGiveTheirPublishedRecords(t *testing.T) {
	recs := rfc8463Records(t)
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(readFile(t, filepath.Join(rfc8463, "ed25519-secret-seed.b64")))))
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pem, want, alg string
		bits                 int
	}{
		{"PKCS#1 RSA (RFC 8463)", string(readFile(t, filepath.Join(rfc8463, "rsa-private.pem"))), recs["test._domainkey.football.example.com"], "rsa-sha256", 1024},
		{"PKCS#8 Ed25519 (RFC 8463 seed)", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), recs["brisbane._domainkey.football.example.com"], "ed25519-sha256", 256},
		{"openssl genpkey ed25519", string(readFile(t, "testdata/openssl-ed25519.pem")), "v=DKIM1; k=ed25519; p=" + string(readFile(t, "testdata/openssl-ed25519.p")), "ed25519-sha256", 256},
		{"openssl genpkey RSA", string(readFile(t, "testdata/openssl-rsa2048.pem")), "v=DKIM1; k=rsa; p=" + string(readFile(t, "testdata/openssl-rsa2048.p")), "rsa-sha256", 2048},
		{"comment and parameters before the key", "# made by hand\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + string(readFile(t, "testdata/openssl-ed25519.pem")), "v=DKIM1; k=ed25519; p=" + string(readFile(t, "testdata/openssl-ed25519.p")), "ed25519-sha256", 256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" || strings.HasSuffix(c.want, "p=") {
				t.Fatal("the expected record is missing from the test data")
			}
			k, err := Parse([]byte(c.pem))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Record(); got != c.want {
				t.Errorf("record\n got %s\nwant %s", got, c.want)
			}
			if k.Algorithm() != c.alg || k.Bits() != c.bits {
				t.Errorf("algorithm %s, %d bits; want %s, %d", k.Algorithm(), k.Bits(), c.alg, c.bits)
			}
		})
	}
}

func TestUnusableKeysAreRefusedWithTheReason(t *testing.T) {
	pub := string(readFile(t, "testdata/openssl-ed25519.pem"))
	k, _ := Parse([]byte(pub))
	der, _ := x509.MarshalPKIXPublicKey(k.Signer().Public())
	cases := []struct{ name, pem, want string }{
		{"empty", "", "no PEM"},
		{"not PEM", "v=DKIM1; k=rsa; p=AAAA", "no PEM"},
		{"RSA under 1024 bits", string(readFile(t, "testdata/openssl-rsa768.pem")), "768 bits"},
		{"ECDSA", string(readFile(t, "testdata/openssl-p256.pem")), "RSA or Ed25519 only"},
		{"public key only", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "only a public key"},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"garbage in a key block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY block"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.pem))
			if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrNoKey saying %q", err, c.want)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arc.pem")
	if err := os.WriteFile(path, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want it to name %s", err, path)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestSignaturesVerifyWithThePublicKey(t *testing.T) {
	digest := sha256.Sum256([]byte("arc-seal:i=1; a=rsa-sha256; b="))
	for _, f := range []string{"testdata/openssl-ed25519.pem", "testdata/openssl-rsa2048.pem"} {
		k, err := Parse(readFile(t, f))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := k.SignDigest(digest[:])
		if err != nil {
			t.Fatal(err)
		}
		switch pub := k.Signer().Public().(type) {
		case ed25519.PublicKey:
			if !ed25519.Verify(pub, digest[:], sig) {
				t.Errorf("%s: Ed25519 signature of the digest does not verify", f)
			}
		case *rsa.PublicKey:
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

func TestZoneLineSplitsLongText(t *testing.T) {
	k, err := Parse(readFile(t, "testdata/openssl-rsa2048.pem"))
	if err != nil {
		t.Fatal(err)
	}
	line := k.ZoneLine("arc1", "example.org.")
	rest, ok := strings.CutPrefix(line, `arc1._domainkey.example.org. TXT "`)
	if !ok {
		t.Fatalf("line = %s", line)
	}
	strs := strings.Split(strings.TrimSuffix(rest, `"`), `" "`)
	if len(strs) != 2 {
		t.Fatalf("%d strings, want 2 for a 2048-bit key: %s", len(strs), line)
	}
	for i, s := range strs {
		if len(s) > 255 {
			t.Errorf("string %d has %d bytes", i, len(s))
		}
	}
	if got := strings.Join(strs, ""); got != k.Record() {
		t.Errorf("the strings join to\n%s\nnot\n%s", got, k.Record())
	}
}
