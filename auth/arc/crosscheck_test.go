package arc

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"dmarcgate/auth"
)

// TestCanonMatchesDKIMLibrary signs messages with go-msgauth and checks
// that this package's canonicalisation reproduces the body hash and the
// header signature, for each pair of algorithms.
func TestCanonMatchesDKIMLibrary(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	key := &Key{Type: "rsa", Public: &priv.PublicKey, Bits: 1024}
	msg := "From: A <a@a.example>\r\nTo:  b@b.example \r\nSubject: Hi\r\n\tthere  \r\n" +
		"\r\n  Hello \t world  \r\n\r\nsecond line\r\n\r\n\r\n"
	for _, hc := range []string{Simple, Relaxed} {
		for _, bc := range []string{Simple, Relaxed} {
			var signed bytes.Buffer
			opts := &dkim.SignOptions{Domain: "a.example", Selector: "s", Signer: priv,
				HeaderCanonicalization: dkim.Canonicalization(hc), BodyCanonicalization: dkim.Canonicalization(bc),
				HeaderKeys: []string{"From", "To", "Subject"}}
			if err := dkim.Sign(&signed, strings.NewReader(msg), opts); err != nil {
				t.Fatal(err)
			}
			checkDKIM(t, hc+"/"+bc, signed.Bytes(), key)
		}
	}
}

// checkDKIM verifies the first DKIM-Signature of msg with this package's
// primitives.
func checkDKIM(t *testing.T, name string, msg []byte, key *Key) {
	t.Helper()
	end := auth.HeaderEnd(msg)
	fields := auth.HeaderFields(msg)
	sig := fields[0]
	tags, err := ParseTags(sig.Value())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	hc, bc, _ := ParseCanon(tags.Value("c"))
	bh := NewBodyHasher(bc, sha256.New(), -1)
	_, _ = bh.Write(msg[end:])
	if got := base64.StdEncoding.EncodeToString(bh.Sum()); got != Compact(tags.Value("bh")) {
		t.Errorf("%s: body hash %s, signature says %s", name, got, tags.Value("bh"))
	}
	var data []byte
	for _, h := range strings.Split(tags.Value("h"), ":") {
		for _, f := range fields[1:] {
			if strings.EqualFold(f.Name, strings.TrimSpace(h)) {
				data = append(data, CanonHeader(f.Raw, hc)...)
				break
			}
		}
	}
	data = append(data, bytes.TrimSuffix(CanonHeader(StripSignature(sig.Raw), hc), []byte("\r\n"))...)
	b, _ := base64.StdEncoding.DecodeString(Compact(tags.Value("b")))
	if err := Verify(key, RSASHA256, data, b); err != nil {
		t.Errorf("%s: header signature: %v", name, err)
	}
}
