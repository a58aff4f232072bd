package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/auth"
	"dmarcgate/resolver/resolvertest"
)

// hop is one test sealer: a key and where its record lives.
type hop struct {
	domain, selector string
	signer           crypto.Signer
}

func (h hop) algorithm() string {
	if _, ok := h.signer.(ed25519.PrivateKey); ok {
		return Ed25519SHA256
	}
	return RSASHA256
}

func (h hop) record(t testing.TB) string {
	switch k := h.signer.Public().(type) {
	case ed25519.PublicKey:
		return txtRecord(KeyName(h.selector, h.domain), "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(k))
	case *rsa.PublicKey:
		rec, _ := rsaRecordOf(t, k)
		return txtRecord(KeyName(h.selector, h.domain), rec)
	}
	t.Fatal("key type")
	return ""
}

func (h hop) sign(data []byte) string {
	digest := sha256.Sum256(data)
	var sig []byte
	if k, ok := h.signer.(ed25519.PrivateKey); ok {
		sig = ed25519.Sign(k, digest[:])
	} else {
		sig, _ = h.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// addSet seals msg as a test-only sealer of RFC 8617 would: AAR, AMS
// (relaxed/relaxed over a few fields) and AS at the next instance, cv
// given, the three fields on top of the header.
func (h hop) addSet(msg, results, cv string) string {
	header := []byte(msg[:auth.HeaderEnd([]byte(msg))])
	sets, _ := collectSets(auth.HeaderFields(header))
	inst := len(sets) + 1
	aar := fmt.Sprintf("ARC-Authentication-Results: i=%d; %s; %s\r\n", inst, h.domain, results)
	bh := NewBodyHasher(Relaxed, sha256.New(), -1)
	_, _ = bh.Write([]byte(msg[len(header):]))
	fields := auth.HeaderFields(header)
	names := []string{"from", "to", "subject", "date"}
	var data []byte
	for _, f := range newFieldIndex(fields).pick(fields, names) {
		data = append(data, CanonHeader(f.Raw, Relaxed)...)
	}
	ams := fmt.Sprintf("ARC-Message-Signature: i=%d; a=%s; c=relaxed/relaxed; d=%s; s=%s; t=%d;\r\n\th=%s;\r\n\tbh=%s; b=",
		inst, h.algorithm(), h.domain, h.selector, time.Now().Unix(), strings.Join(names, ":"), base64.StdEncoding.EncodeToString(bh.Sum()))
	data = append(data, CanonHeader([]byte(ams), Relaxed)...)
	ams += h.sign(data[:len(data)-2]) + "\r\n"

	var sealData []byte
	for _, s := range sets {
		for _, f := range []auth.Field{s.AAR, s.AMS, s.Seal} {
			sealData = append(sealData, CanonHeader(f.Raw, Relaxed)...)
		}
	}
	sealData = append(sealData, CanonHeader([]byte(aar), Relaxed)...)
	sealData = append(sealData, CanonHeader([]byte(ams), Relaxed)...)
	as := fmt.Sprintf("ARC-Seal: i=%d; a=%s; t=%d; cv=%s; d=%s; s=%s; b=", inst, h.algorithm(), time.Now().Unix(), cv, h.domain, h.selector)
	sealData = append(sealData, CanonHeader([]byte(as), Relaxed)...)
	as += h.sign(sealData[:len(sealData)-2]) + "\r\n"
	return as + ams + aar + msg
}

func rsaRecordOf(t testing.TB, k *rsa.PublicKey) (string, error) {
	t.Helper()
	der, err := x509MarshalPKIX(k)
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), err
}

func newHop(t testing.TB, domain string, ed bool) hop {
	t.Helper()
	if ed {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		return hop{domain, "ed", k}
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return hop{domain, "rsa", k}
}

const plainMessage = "From: Alice <alice@a.example>\r\nTo: list@lists.example\r\nSubject: hello\r\n" +
	"Date: Sun, 6 Dec 2026 07:00:00 +0000\r\n\r\nHello list.\r\n"

func serveHops(t testing.TB, hops ...hop) (*Verifier, *resolvertest.Server) {
	t.Helper()
	zone := resolvertest.Zone{}
	for _, h := range hops {
		zone[h.domain+"."] = append(zone[h.domain+"."], h.record(t))
	}
	res, srv := newTestResolver(t, zone)
	return &Verifier{Resolver: res}, srv
}

func TestChainOfHops(t *testing.T) {
	list := newHop(t, "lists.example", false)
	fwd := newHop(t, "fwd.example", true)
	v, _ := serveHops(t, list, fwd)
	ctx := context.Background()

	one := list.addSet(plainMessage, "dmarc=pass header.from=a.example", "none")
	if r := v.Verify(ctx, []byte(one)); r.Status != Pass || r.OldestPass != 0 || len(r.Sets) != 1 {
		t.Fatalf("one set: %+v", r)
	}
	// The list changes the subject after sealing: the AMS of i=1 breaks,
	// the next hop seals over it.
	altered := strings.Replace(one, "Subject: hello", "Subject: [list] hello", 1)
	two := fwd.addSet(altered, "arc=fail", "pass")
	r := v.Verify(ctx, []byte(two))
	if r.Status != Pass || r.OldestPass != 2 {
		t.Fatalf("two sets, older AMS broken: %+v", r)
	}
	if s := r.Sets[0]; s.AuthservID != "lists.example" || !strings.Contains(s.Results, "dmarc=pass") {
		t.Errorf("set 1 AAR read as %q %q", s.AuthservID, s.Results)
	}
	if r := v.Verify(ctx, []byte(altered)); r.Status != Fail {
		t.Errorf("altered after the seal: %+v", r)
	}
	tampered := strings.Replace(two, " cv=pass;", "\r\n\tcv=pass;", 1) // relaxed: the same
	if r := v.Verify(ctx, []byte(tampered)); r.Status != Pass {
		t.Errorf("whitespace in the seal: %+v", r)
	}
	tampered = strings.Replace(two, "i=1; lists.example; dmarc=pass", "i=1; lists.example; dmarc=fail", 1)
	if r := v.Verify(ctx, []byte(tampered)); r.Status != Fail {
		t.Errorf("AAR rewritten: %+v", r)
	}
	body := strings.Replace(two, "Hello list.", "Hello list!", 1)
	if r := v.Verify(ctx, []byte(body)); r.Status != Fail || !strings.Contains(r.Reason, "body hash") {
		t.Errorf("body changed: %+v", r)
	}
}

func TestChainKeyFailures(t *testing.T) {
	list := newHop(t, "lists.example", false)
	v, srv := serveHops(t)
	ctx := context.Background()
	msg := []byte(list.addSet(plainMessage, "dmarc=pass", "none"))
	if r := v.Verify(ctx, msg); r.Status != Fail || r.Temporary {
		t.Errorf("no key: %+v", r)
	}
	other := newHop(t, "other.example", true)
	srv.Fail(KeyName("ed", "other.example")+".", dns.RcodeServerFailure)
	msg = []byte(other.addSet(plainMessage, "dmarc=pass", "none"))
	if r := v.Verify(ctx, msg); r.Status != Fail || !r.Temporary {
		t.Errorf("SERVFAIL: %+v", r)
	}
}

func TestMayHaveARC(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"From: a\r\n\r\n", false},
		{"ARC-Seal: i=1\r\n", true},
		{"From: a\r\narc-message-signature: x\r\n", true},
		{"From: a\r\nArC-Authentication-Results: i=1\r\n", true},
		{"From: a\r\n ARC-Seal: folded into From\r\n", true}, // harmless
		{" ARC-Seal: i=1\r\n", true},
		{"\vARC-Seal: i=1\r\n", true}, // a name is trimmed of any space
		{"X-ARC-Seal: i=1\r\n", false},
		{"From: a\nARC-Seal: bare LF\n", true},
		{"ARC", false},
	} {
		if got := mayHaveARC([]byte(c.header)); got != c.want {
			t.Errorf("mayHaveARC(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}
