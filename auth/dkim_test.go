package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

const dkimTestdata = "../testdata/dkim"

const plainMessage = "From: Alice <alice@a.example>\r\n" +
	"To: bob@b.example\r\n" +
	"Subject: hello\r\n" +
	"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n" +
	"Message-ID: <1@a.example>\r\n" +
	"\r\n" +
	"Hello Bob.\r\n" +
	"\r\n" +
	"-- \r\nAlice\r\n"

var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, ed25519.PrivateKey) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	return k, ed25519.NewKeyFromSeed(seed)
})

// keyRecord is the DKIM key record of a public key (RFC 6376 §3.6.1,
// RFC 8463 §4).
func keyRecord(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	}
	t.Fatalf("unexpected key %T", pub)
	return ""
}

// sign signs msg with go-msgauth.
func sign(t testing.TB, msg string, signer crypto.Signer, domain, selector string) string {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// signSimple is a small simple/simple signer for what go-msgauth will not
// produce: rsa-sha1, or extra tags. With crypto.SHA256 and no extra tags
// it makes ordinary signatures, which shows the signer itself is right.
func signSimple(t testing.TB, msg string, key *rsa.PrivateKey, h crypto.Hash, alg, domain, selector, extra, headers string) string {
	t.Helper()
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	body = strings.TrimRight(body, "\r\n") + "\r\n" // RFC 6376 §3.4.3
	if strings.TrimSpace(body) == "" {
		body = "\r\n"
	}
	hb := h.New()
	hb.Write([]byte(body))
	sig := fmt.Sprintf("DKIM-Signature: v=1; a=%s; c=simple/simple; d=%s; s=%s;%s h=%s; bh=%s; b=",
		alg, domain, selector, extra, headers, base64.StdEncoding.EncodeToString(hb.Sum(nil)))
	hh := h.New()
	for _, name := range strings.Split(headers, ":") {
		if f := fieldsNamed([]byte(head+"\r\n\r\n"), name); len(f) > 0 {
			hh.Write(f[len(f)-1].Raw)
		}
	}
	hh.Write([]byte(sig))
	b, err := rsa.SignPKCS1v15(rand.Reader, key, h, hh.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return sig + base64.StdEncoding.EncodeToString(b) + "\r\n" + msg
}

// verify feeds msg to a verifier in small pieces, as the SMTP layer would,
// twice: streamed, and kept in a buffer as the spool keeps it. Both ways
// must give the same outcomes.
func verify(t testing.TB, c *Checker, msg string) []DKIMOutcome {
	t.Helper()
	streamed := verifyPieces(t, c, msg, 37, nil, false)
	kept := verifyPieces(t, c, msg, 37, new(bytes.Buffer), false)
	if !reflect.DeepEqual(streamed, kept) {
		t.Fatalf("streamed %+v, verified from the buffer %+v", streamed, kept)
	}
	return kept
}

// verifyPieces writes msg in pieces of n bytes to a verifier and, if kept
// is not nil, to kept (first when keptFirst).
func verifyPieces(t testing.TB, c *Checker, msg string, n int, kept *bytes.Buffer, keptFirst bool) []DKIMOutcome {
	t.Helper()
	var buf MessageBuffer
	if kept != nil {
		buf = kept
	}
	v := c.NewDKIMVerifier(context.Background(), buf)
	for b := []byte(msg); len(b) > 0; {
		piece := b[:min(len(b), n)]
		if kept != nil && keptFirst {
			kept.Write(piece)
		}
		if w, err := v.Write(piece); err != nil || w != len(piece) {
			t.Fatalf("Write = %d, %v", w, err)
		}
		if kept != nil && !keptFirst {
			kept.Write(piece)
		}
		b = b[len(piece):]
	}
	outs, err := v.Close()
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestDKIMSigned(t *testing.T) {
	rsaKey, edKey := testKeys()
	weak, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	c, srv := newTestChecker(t, resolvertest.Zone{".": {
		txtRR("rsa._domainkey.a.example", keyRecord(t, rsaKey.Public())),
		txtRR("ed._domainkey.a.example", keyRecord(t, edKey.Public())),
		txtRR("weak._domainkey.a.example", keyRecord(t, weak.Public())),
		txtRR("broken._domainkey.a.example", keyRecord(t, rsaKey.Public())),
	}})
	srv.Fail("broken._domainkey.a.example.", dns.RcodeServerFailure)

	signedRSA := sign(t, plainMessage, rsaKey, "a.example", "rsa")
	tests := []struct {
		name      string
		msg       string
		want      policy.Result
		alg, sel  string
		reasonHas string
	}{
		{"rsa-sha256 pass", signedRSA, policy.Pass, "rsa-sha256", "rsa", ""},
		{"ed25519-sha256 pass", sign(t, plainMessage, edKey, "a.example", "ed"), policy.Pass, "ed25519-sha256", "ed", ""},
		{"body altered", strings.Replace(signedRSA, "Hello Bob.", "Hello Eve.", 1), policy.Fail, "rsa-sha256", "rsa", "body hash did not verify"},
		{"header altered", strings.Replace(signedRSA, "Subject: hello", "Subject: HELLO", 1), policy.Fail, "rsa-sha256", "rsa", "signature did not verify"},
		{"key record missing", sign(t, plainMessage, rsaKey, "a.example", "missing"), policy.PermError, "rsa-sha256", "missing", "no key"},
		{"key lookup SERVFAIL", sign(t, plainMessage, rsaKey, "a.example", "broken"), policy.TempError, "rsa-sha256", "broken", "key unavailable"},
		{"512-bit key", sign(t, plainMessage, weak, "a.example", "weak"), policy.PermError, "rsa-sha256", "weak", "too short"},
		{"own signer sha256 pass", signSimple(t, plainMessage, rsaKey, crypto.SHA256, "rsa-sha256", "a.example", "rsa", "", "from:subject"), policy.Pass, "rsa-sha256", "rsa", ""},
		{"rsa-sha1", signSimple(t, plainMessage, rsaKey, crypto.SHA1, "rsa-sha1", "a.example", "rsa", "", "from:subject"), policy.PermError, "rsa-sha1", "rsa", "rsa-sha1"},
		{"l= tag", signSimple(t, plainMessage, rsaKey, crypto.SHA256, "rsa-sha256", "a.example", "rsa", " l=10;", "from:subject"), policy.Policy, "rsa-sha256", "rsa", "body length"},
		{"From not signed", signSimple(t, plainMessage, rsaKey, crypto.SHA256, "rsa-sha256", "a.example", "rsa", "", "subject:date"), policy.PermError, "rsa-sha256", "rsa", "From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs := verify(t, c, tt.msg)
			if len(outs) != 1 {
				t.Fatalf("got %d outcomes, want 1: %+v", len(outs), outs)
			}
			o := outs[0]
			if o.Result != tt.want || o.Domain != "a.example" || o.Selector != tt.sel || o.Algorithm != tt.alg {
				t.Fatalf("outcome %+v, want %s a.example %s %s", o, tt.want, tt.sel, tt.alg)
			}
			if !strings.Contains(o.Reason, tt.reasonHas) || (tt.want == policy.Pass) != (o.Reason == "") {
				t.Errorf("reason %q, want it to mention %q", o.Reason, tt.reasonHas)
			}
			tags := dkimSignatureTags([]byte(tt.msg))
			if len(o.HeaderB) < 8 || !strings.HasPrefix(tags[0].b, o.HeaderB) {
				t.Errorf("HeaderB %q is not an 8+ prefix of b=%q", o.HeaderB, tags[0].b)
			}
			if p := o.ToPolicy(); p.Result != o.Result || p.Domain != o.Domain || p.Selector != o.Selector {
				t.Errorf("ToPolicy = %+v", p)
			}
		})
	}
}

func TestDKIMSignatureLimit(t *testing.T) {
	_, edKey := testKeys()
	zone := resolvertest.Zone{}
	msg := plainMessage
	for i := 1; i <= 7; i++ {
		sel := fmt.Sprintf("s%d", i)
		zone["."] = append(zone["."], txtRR(sel+"._domainkey.a.example", keyRecord(t, edKey.Public())))
		msg = sign(t, msg, edKey, "a.example", sel)
	}
	c, srv := newTestChecker(t, zone)
	outs := verify(t, c, msg)
	if len(outs) != 7 {
		t.Fatalf("got %d outcomes, want 7", len(outs))
	}
	for i, o := range outs {
		// Each signature is added on top, so the header lists s7 first.
		if want := fmt.Sprintf("s%d", 7-i); o.Selector != want {
			t.Errorf("outcome %d has selector %q, want %q", i, o.Selector, want)
		}
		want := policy.Pass
		if i >= DefaultMaxSignatures {
			want = policy.Policy
		}
		if o.Result != want {
			t.Errorf("outcome %d (%s) = %s %q, want %s", i, o.Selector, o.Result, o.Reason, want)
		}
	}
	if !strings.Contains(outs[6].Reason, "not checked") {
		t.Errorf("reason %q", outs[6].Reason)
	}
	for i := 1; i <= 2; i++ {
		if n := srv.QueryCount(fmt.Sprintf("s%d._domainkey.a.example.", i), dns.TypeTXT); n != 0 {
			t.Errorf("key of unchecked signature s%d was queried %d times", i, n)
		}
	}
	seen := map[string]bool{}
	for _, o := range outs {
		if seen[o.HeaderB] {
			t.Errorf("header.b %q is not unique", o.HeaderB)
		}
		seen[o.HeaderB] = true
	}
}

func TestDKIMUnsignedAndOdd(t *testing.T) {
	rsaKey, _ := testKeys()
	c, _ := newTestChecker(t, resolvertest.Zone{".": {
		txtRR("rsa._domainkey.a.example", keyRecord(t, rsaKey.Public())),
	}})
	if outs := verify(t, c, plainMessage); len(outs) != 0 {
		t.Errorf("unsigned message: %+v", outs)
	}
	if outs := verify(t, c, ""); len(outs) != 0 {
		t.Errorf("empty message: %+v", outs)
	}
	// The library runs only for a header with a signature field, however
	// the field name is spelled.
	for msg, wantRun := range map[string]bool{
		plainMessage: false,
		"X-DKIM-Signature: v=1\r\n" + plainMessage:      false,
		"dkim-signature : v=1\r\n" + plainMessage:       true,
		"Subject: s\r\nDKIM-Signature: v=1\r\n\r\nbody": true,
	} {
		v := c.NewDKIMVerifier(context.Background(), nil)
		if _, err := v.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if ran := v.pw != nil; ran != wantRun {
			t.Errorf("%q: library started %v, want %v", msg[:20], ran, wantRun)
		}
		if outs, err := v.Close(); err != nil || len(outs) != map[bool]int{false: 0, true: 1}[wantRun] {
			t.Errorf("%q: outcomes %+v, %v", msg[:20], outs, err)
		}
	}
	// A message that is all header: no empty line, no final CRLF.
	headerOnly := "From: alice@a.example\r\nSubject: hi\r\n\r\n"
	signed := sign(t, headerOnly, rsaKey, "a.example", "rsa")
	for _, msg := range []string{strings.TrimSuffix(signed, "\r\n"), strings.TrimSuffix(signed, "\r\n\r\n")} {
		outs := verify(t, c, msg)
		if len(outs) != 1 || outs[0].Result != policy.Pass {
			t.Errorf("header-only message %q: %+v", msg[len(msg)-20:], outs)
		}
	}
	// Malformed signatures stop the library early; the rest of a large
	// message must still be accepted.
	big := "DKIM-Signature: garbage\r\nDKIM-Signature: v=1; d=a.example\r\n" + plainMessage +
		strings.Repeat("x", 1<<20) + "\r\n"
	done := make(chan []DKIMOutcome, 1)
	go func() { done <- verify(t, c, big) }()
	select {
	case outs := <-done:
		if len(outs) != 2 || outs[0].Result != policy.PermError || outs[1].Result != policy.PermError || outs[1].Domain != "a.example" {
			t.Errorf("malformed signatures: %+v", outs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("verifier blocked on a message with malformed signatures")
	}
}

func TestDKIMVerifierMisuse(t *testing.T) {
	c, _ := newTestChecker(t, resolvertest.Zone{})
	v := c.NewDKIMVerifier(context.Background(), nil)
	if _, err := v.Write([]byte(plainMessage)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Header(), []byte(plainMessage[:strings.Index(plainMessage, "\r\n\r\n")+4])) {
		t.Errorf("Header() = %q", v.Header())
	}
	if _, err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if _, err := v.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestDKIMContextEnds(t *testing.T) {
	rsaKey, _ := testKeys()
	c, srv := newTestChecker(t, resolvertest.Zone{})
	srv.Silence("slow._domainkey.a.example.")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	v := c.NewDKIMVerifier(ctx, nil)
	start := time.Now()
	if _, err := v.Write([]byte(sign(t, plainMessage, rsaKey, "a.example", "slow"))); err != nil {
		t.Fatal(err)
	}
	outs, _ := v.Close()
	if len(outs) != 1 || outs[0].Result != policy.TempError {
		t.Fatalf("outcomes %+v, want one temperror", outs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after the context ended", d)
	}
}

func readDKIMData(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dkimTestdata, name))
	if err != nil {
		t.Fatalf("test data not available: %v", err)
	}
	return b
}

// crlf turns bare LF line endings into CRLF.
func crlf(b []byte) string {
	return strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
}

func rfc8463Zone(t *testing.T) resolvertest.Zone {
	// dns-txt.json holds {"name": ["record"]}; read it without a schema.
	var zone []string
	text := string(readDKIMData(t, "rfc8463/dns-txt.json"))
	for _, name := range []string{"brisbane._domainkey.football.example.com", "test._domainkey.football.example.com"} {
		i := strings.Index(text, `"`+name+`"`)
		if i < 0 {
			t.Fatalf("dns-txt.json lacks %s", name)
		}
		rest := text[i+len(name)+2:]
		start := strings.Index(rest, `"v=DKIM1`)
		end := strings.Index(rest[start+1:], `"`)
		zone = append(zone, txtRR(name, rest[start+1:start+1+end]))
	}
	return resolvertest.Zone{".": zone}
}

func TestDKIMRFC8463Vectors(t *testing.T) {
	c, _ := newTestChecker(t, rfc8463Zone(t))
	msg := string(readDKIMData(t, "rfc8463/signed-message.eml"))
	outs := verify(t, c, msg)
	want := []struct{ alg, sel string }{{"ed25519-sha256", "brisbane"}, {"rsa-sha256", "test"}}
	if len(outs) != len(want) {
		t.Fatalf("got %+v", outs)
	}
	for i, o := range outs {
		if o.Result != policy.Pass || o.Algorithm != want[i].alg || o.Selector != want[i].sel || o.Domain != "football.example.com" {
			t.Errorf("outcome %d: %+v, want pass %s %s", i, o, want[i].alg, want[i].sel)
		}
	}
	for _, edit := range []struct{ from, to string }{
		{"Joe.", "Joe!"}, // body
		{"Subject: Is dinner", "Subject: is dinner"}, // signed header
	} {
		if !strings.Contains(msg, edit.from) {
			t.Fatalf("message lacks %q", edit.from)
		}
		for i, o := range verify(t, c, strings.Replace(msg, edit.from, edit.to, 1)) {
			if o.Result != policy.Fail {
				t.Errorf("after %q -> %q outcome %d = %s (%s), want fail", edit.from, edit.to, i, o.Result, o.Reason)
			}
		}
	}
}

func TestDKIMDkimpyVectors(t *testing.T) {
	// The draft-era RFC 8463 signatures (simple/simple), with the RFC's keys.
	c, _ := newTestChecker(t, rfc8463Zone(t))
	outs := verify(t, c, crlf(readDKIMData(t, "dkimpy/rfc6376.signed.msg")))
	if len(outs) != 2 || outs[0].Result != policy.Pass || outs[1].Result != policy.Pass {
		t.Errorf("rfc6376.signed.msg: %+v", outs)
	}

	// An Exim-made ed25519 signature.
	exim := strings.TrimSpace(string(readDKIMData(t, "dkimpy/eximtest.dns")))
	c, _ = newTestChecker(t, resolvertest.Zone{".": {txtRR("sed._domainkey.test.ex", exim)}})
	outs = verify(t, c, string(readDKIMData(t, "dkimpy/ed25519test2.msg")))
	if len(outs) != 1 || outs[0].Result != policy.Pass || outs[0].Algorithm != "ed25519-sha256" {
		t.Errorf("ed25519test2.msg: %+v", outs)
	}
}

func TestDKIMDkimpyKeyRecords(t *testing.T) {
	block, _ := pem.Decode(readDKIMData(t, "dkimpy/test.private"))
	if block == nil {
		t.Fatal("test.private is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(readDKIMData(t, "dkimpy/ed25519test.key"))))
	if err != nil {
		t.Fatal(err)
	}
	record := func(f string) string { return strings.TrimSpace(string(readDKIMData(t, "dkimpy/"+f))) }
	c, _ := newTestChecker(t, resolvertest.Zone{".": {
		txtRR("good._domainkey.example.com", record("test.txt")),
		txtRR("nok._domainkey.example.com", record("test2.txt")),
		txtRR("bad._domainkey.example.com", record("test_bad.txt")),
		txtRR("badk._domainkey.example.com", record("badk.txt")),
		txtRR("badversion._domainkey.example.com", record("badversion.txt")),
		txtRR("ed._domainkey.example.com", record("ed25519test.dns")),
	}})
	msg := crlf(readDKIMData(t, "dkimpy/test.message"))
	tests := []struct {
		selector string
		signer   crypto.Signer
		pass     bool
	}{
		{"good", key, true},
		{"nok", key, true}, // no k= means rsa
		{"bad", key, false},
		{"badk", key, false},
		{"badversion", key, false},
		{"ed", ed25519.NewKeyFromSeed(seed), true},
	}
	for _, tt := range tests {
		outs := verify(t, c, sign(t, msg, tt.signer, "example.com", tt.selector))
		if len(outs) != 1 || (outs[0].Result == policy.Pass) != tt.pass {
			t.Errorf("selector %s: %+v, want pass=%v", tt.selector, outs, tt.pass)
		}
	}
}

func TestHeaderBPrefixes(t *testing.T) {
	outs := make([]DKIMOutcome, 4)
	headerBPrefixes(outs, []string{"abcdefgh1234", "abcdefgh5678", "short", "zzzzzzzzzzzz"})
	want := []string{"abcdefgh1", "abcdefgh5", "short", "zzzzzzzz"}
	for i, o := range outs {
		if o.HeaderB != want[i] {
			t.Errorf("HeaderB[%d] = %q, want %q", i, o.HeaderB, want[i])
		}
	}
}
