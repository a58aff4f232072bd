package arc

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"dmarcgate/auth"
)

// sealWith seals msg as a Sealer of hop h would, with the chain status
// our verifier gives.
func sealWith(t *testing.T, v *Verifier, h hop, msg string, results ...string) ([]byte, Status, error) {
	t.Helper()
	end := auth.HeaderEnd([]byte(msg))
	bh := NewBodyHasher(Relaxed, sha256.New(), -1)
	_, _ = bh.Write([]byte(msg[end:]))
	chain := v.Verify(context.Background(), []byte(msg)).Status
	s := &Sealer{Domain: h.domain, Selector: h.selector, Key: h.signer}
	set, err := s.Seal(SealInput{Header: []byte(msg[:end]), BodyHash: bh.Sum(), AuthservID: "mx." + h.domain, Results: results, Chain: chain})
	return set, chain, err
}

func TestSealRoundTrip(t *testing.T) {
	list := newHop(t, "lists.example", true)
	gw := newHop(t, "gw.example", false)
	v, _ := serveHops(t, list, gw)
	msg := plainMessage
	for i, h := range []hop{list, gw, list} {
		set, chain, err := sealWith(t, v, h, msg, "spf=pass smtp.mailfrom=a.example", "dmarc=pass header.from=a.example")
		if err != nil {
			t.Fatal(err)
		}
		if want := []Status{None, Pass, Pass}[i]; chain != want {
			t.Fatalf("hop %d: chain %s, want %s", i, chain, want)
		}
		msg = string(set) + msg
		r := v.Verify(context.Background(), []byte(msg))
		if r.Status != Pass || len(r.Sets) != i+1 || r.OldestPass != 0 {
			t.Fatalf("hop %d: %+v", i, r)
		}
		if got := r.Sets[i].AuthservID; got != "mx."+h.domain {
			t.Errorf("AAR authserv-id %q", got)
		}
	}
	if !strings.HasPrefix(msg, "ARC-Seal: a=ed25519-sha256;\r\n\tb=") {
		t.Errorf("layout: %q", msg[:60])
	}
}

// TestSealFailedChain: a chain that does not validate gets cv=fail and a
// seal over the new set alone (RFC 8617 §5.1.2); after it, nothing.
func TestSealFailedChain(t *testing.T) {
	list := newHop(t, "lists.example", true)
	gw := newHop(t, "gw.example", true)
	v, _ := serveHops(t, list, gw)
	broken := strings.Replace(list.addSet(plainMessage, "dmarc=pass", "none"), "Hello list.", "Changed.", 1)
	set, chain, err := sealWith(t, v, gw, broken, "arc=fail")
	if err != nil || chain != Fail {
		t.Fatal(chain, err)
	}
	fields := auth.HeaderFields(set)
	if !strings.Contains(fields[0].Value(), "cv=fail") || !strings.Contains(fields[0].Value(), "i=2") {
		t.Fatalf("seal %q", fields[0].Raw)
	}
	var data []byte
	for _, f := range []auth.Field{fields[2], fields[1]} {
		data = append(data, CanonHeader(f.Raw, Relaxed)...)
	}
	self := CanonHeader(StripSignature(fields[0].Raw), Relaxed)
	data = append(data, self[:len(self)-2]...)
	tags, err := ParseTags(fields[0].Value())
	if err != nil {
		t.Fatal(err)
	}
	sg, _ := parseSeal(tags)
	key := &Key{Type: "ed25519", Public: gw.signer.Public()}
	if err := Verify(key, sg.algorithm, data, sg.b); err != nil {
		t.Errorf("the cv=fail seal does not cover the new set alone: %v", err)
	}
	_, _, err = sealWith(t, v, list, string(set)+broken)
	if !errors.Is(err, ErrNoSeal) {
		t.Errorf("sealed after cv=fail: %v", err)
	}
}

func TestSealNoInstanceLeft(t *testing.T) {
	h := newHop(t, "lists.example", true)
	v, _ := serveHops(t, h)
	hops := make([]hop, MaxInstances)
	for i := range hops {
		hops[i] = h
	}
	if _, _, err := sealWith(t, v, h, chainOf(hops)); !errors.Is(err, ErrNoSeal) {
		t.Errorf("sealed instance 51: %v", err)
	}
}

func TestFoldTags(t *testing.T) {
	h := "from:reply-to:subject:date:message-id:to:cc:mime-version:content-type:content-transfer-encoding:dkim-signature"
	got := FoldTags([][2]string{{"a", "rsa-sha256"}, {"b", strings.Repeat("x", 100)}, {"d", "example.org"}, {"h", h}, {"i", "1"}})
	for _, l := range strings.Split(got, "\r\n\t") {
		if len(l) > foldWidth {
			t.Errorf("line of %d: %q", len(l), l)
		}
	}
	if Compact(got) != Compact("a=rsa-sha256; b="+strings.Repeat("x", 100)+"; d=example.org; h="+h+"; i=1") {
		t.Errorf("content changed: %q", got)
	}
	if !strings.Contains(got, "dkim-signature;\r\n\ti=1") {
		t.Errorf("h= does not end its line: %q", got)
	}
}

func TestSplitResults(t *testing.T) {
	id, rs := SplitResults(" mx.example.org;\r\n\tspf=pass (a; b) smtp.mailfrom=a.example;\r\n\tdkim=fail reason=\"x; y\"  header.d=a.example")
	if id != "mx.example.org" || len(rs) != 2 || rs[0] != "spf=pass (a; b) smtp.mailfrom=a.example" || rs[1] != `dkim=fail reason="x; y" header.d=a.example` {
		t.Errorf("%q %q", id, rs)
	}
	if id, rs := SplitResults("mx.example.org; none"); id != "mx.example.org" || rs != nil {
		t.Errorf("none: %q %q", id, rs)
	}
	if got := formatAAR(3, "mx.example.org", nil); got != "ARC-Authentication-Results: i=3; mx.example.org; none\r\n" {
		t.Errorf("%q", got)
	}
}
