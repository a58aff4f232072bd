package arc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"dmarcgate/auth"
)

func FuzzParseTags(f *testing.F) {
	for _, s := range []string{"a=1; b=2;", " v = DKIM1 ;\r\n p=abc", "a=1;;", "b=x\r\n y", "a=é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTags(s)
		if err != nil {
			return
		}
		if len(tags.Names) > maxTags {
			t.Fatalf("%d tags", len(tags.Names))
		}
		for _, n := range tags.Names {
			if !validTagName(n) || !tags.Has(n) {
				t.Fatalf("tag %q", n)
			}
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id")
	f.Add("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	f.Add("v=DKIM1; p=")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err == nil && (k.Public == nil || (k.Type == "rsa" && k.Bits < MinRSABits)) {
			t.Fatalf("accepted key %+v", k)
		}
	})
}

// FuzzCanon checks that header canonicalisation and b= stripping never
// panic, and that the body hash does not depend on how the body is split
// across writes.
func FuzzCanon(f *testing.F) {
	f.Add([]byte("ARC-Seal: i=1; b=abc\r\n d; cv=none\r\n"), 3)
	f.Add([]byte(" a \r\n\r\nb\t\r\n\r"), 1)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		for _, c := range []string{Simple, Relaxed} {
			if out := CanonHeader(b, c); !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Fatalf("%s header without CRLF: %q", c, out)
			}
			whole := NewBodyHasher(c, sha256.New(), -1)
			_, _ = whole.Write(b)
			parts := NewBodyHasher(c, sha256.New(), -1)
			at := 0
			if len(b) > 0 {
				at = int(uint(split) % uint(len(b)+1))
			}
			_, _ = parts.Write(b[:at])
			_, _ = parts.Write(b[at:])
			sum := whole.Sum()
			if !bytes.Equal(sum, parts.Sum()) {
				t.Fatalf("%s body hash depends on the split at %d of %q", c, at, b)
			}
			if want := sha256.Sum256(referenceBody(b, c)); !bytes.Equal(sum, want[:]) {
				t.Fatalf("%s body hash of %q differs from the reference's %q", c, b, referenceBody(b, c))
			}
		}
		_ = StripSignature(b)
	})
}

// FuzzARCHeader feeds a header block to the ARC field readers: the sets'
// structure, the AAR prefix, and the AMS and AS tags.
func FuzzARCHeader(f *testing.F) {
	f.Add([]byte("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA\r\n" +
		"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=x; s=y; h=from; bh=AAAA; b=AAAA\r\n" +
		"ARC-Authentication-Results: i=1; mx.example; dmarc=pass\r\nFrom: a@b\r\n\r\n"))
	f.Add([]byte("ARC-Authentication-Results: i=01;\r\n\r\n"))
	f.Fuzz(func(t *testing.T, header []byte) {
		c := (&Verifier{}).Begin(header)
		if c.err == nil && c.sets != nil {
			for _, s := range c.sets {
				_, _ = parseAMS(s.AMSTags)
				_, _ = parseSeal(s.SealTags)
			}
		}
		if len(c.sets) > MaxInstances {
			t.Fatalf("%d sets", len(c.sets))
		}
		if !mayHaveARC(header) {
			if sets, err := collectSets(auth.HeaderFields(header)); sets != nil || err != nil {
				t.Fatalf("mayHaveARC missed a chain: %d sets, %v", len(sets), err)
			}
		}
	})
}

// FuzzSealHeader seals whatever header a message brings: the lenient
// instance reader, the A-R splitter and the AAR writer. A set we add is
// always well formed at an instance of 1 to MaxInstances, and the AAR
// reads back as the results it was given.
func FuzzSealHeader(f *testing.F) {
	f.Add([]byte("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA\r\n"+
		"Authentication-Results: mx.example; spf=pass (a;b) smtp.mailfrom=x; dkim=none\r\nFrom: a@b\r\n\r\n"), true)
	f.Add([]byte("ARC-Seal: i=50; cv=pass\r\nAuthentication-Results: mx.example; none\r\n\r\n"), false)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s := &Sealer{Domain: "gw.example", Selector: "s1", Key: key}
	f.Fuzz(func(t *testing.T, header []byte, pass bool) {
		for _, fl := range auth.HeaderFields(header) {
			id, results := SplitResults(fl.Value())
			aar := formatAAR(7, id, results)
			inst, id2, rest, err := parseAAR(auth.HeaderFields([]byte(aar))[0].Value())
			if id != "" && !strings.ContainsAny(id, ";") && (err != nil || inst != 7 || id2 != id) {
				t.Fatalf("AAR %q reads as %d %q %q, %v", aar, inst, id2, rest, err)
			}
		}
		chain := Fail
		if pass {
			chain = Pass
		}
		set, err := s.Seal(SealInput{Header: header, BodyHash: make([]byte, 32), AuthservID: "mx.example", Chain: chain})
		if err != nil {
			return
		}
		byInstance := map[int]*Set{}
		for _, fl := range auth.HeaderFields(set) {
			if err := addField(byInstance, arcKind(fl.Name), fl); err != nil {
				t.Fatalf("set %q: %v", set, err)
			}
		}
		for inst, st := range byInstance {
			if len(byInstance) != 1 || inst < 1 || inst > MaxInstances || st.Seal.Raw == nil || st.AMS.Raw == nil || st.AAR.Raw == nil {
				t.Fatalf("set %q", set)
			}
		}
	})
}

var wspRun = regexp.MustCompile(`[ \t]+`)

// referenceBody canonicalizes a whole body the plain way, line by line
// (RFC 6376 §3.4.3, §3.4.4), to check the streaming BodyHasher against:
// a line ends at LF, with one CR before it dropped.
func referenceBody(body []byte, algorithm string) []byte {
	lines := bytes.Split(body, []byte("\n"))
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	if len(last) > 0 {
		lines = append(lines, last) // no line end: it gets one
	}
	var out []byte
	for i, l := range lines {
		if algorithm == Relaxed {
			l = bytes.TrimRight(wspRun.ReplaceAll(l, []byte(" ")), " ")
		}
		lines[i] = l
	}
	for len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		out = append(append(out, l...), '\r', '\n')
	}
	if algorithm == Simple && len(out) == 0 {
		out = []byte("\r\n")
	}
	return out
}
