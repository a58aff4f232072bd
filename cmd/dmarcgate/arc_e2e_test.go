package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
	"dmarcgate/config"
	"dmarcgate/resolver"
)

// An ARC-sealing mailing list and a gateway that seals what it relays:
// a post from p=reject good.example, DKIM-signed, goes through the list,
// which records what it saw, tags the subject, adds a footer (the DKIM
// signature breaks), seals and resends from its own servers.

// arcGateway starts a gateway that trusts the given sealers and seals
// with an Ed25519 key in a PKCS#8 file, published in its DNS.
func arcGateway(t *testing.T, trusted ...string) *harness {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "arc.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *config.Config) {
		c.ARC.TrustedSealers = trusted
		c.ARC.SealDomain, c.ARC.SealSelector, c.ARC.SealKeyFile = "test.example", "arc1", keyFile
	})
	h.publishKey("test.example", "arc1", "ed25519", key.Public().(ed25519.PublicKey))
	h.dns.SetRecords("lists.example.", `lists.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	return h
}

// listHop is the list's sealer, its key published in the gateway's DNS.
func listHop(t *testing.T, h *harness) *arc.Sealer {
	t.Helper()
	s := h.newEd25519Signer("lists.example", "arc")
	return &arc.Sealer{Domain: "lists.example", Selector: "arc", Key: s.key}
}

// seal adds a set of sealer to msg, recording results, over the chain
// status chain.
func seal(t *testing.T, s *arc.Sealer, msg string, chain arc.Status, results ...string) string {
	t.Helper()
	end := auth.HeaderEnd([]byte(msg))
	bh := arc.NewBodyHasher(arc.Relaxed, sha256.New(), -1)
	_, _ = bh.Write([]byte(msg[end:]))
	set, err := s.Seal(arc.SealInput{Header: []byte(msg[:end]), BodyHash: bh.Sum(), AuthservID: s.Domain, Results: results, Chain: chain})
	if err != nil {
		t.Fatal(err)
	}
	return string(set) + msg
}

// listPost is the post as the list resends it: altered, then sealed with
// the results the list recorded on arrival.
func listPost(t *testing.T, h *harness, list *arc.Sealer, dmarc string) string {
	t.Helper()
	post := h.newRSASigner("good.example", "s1").sign(t, message("a@good.example", "meeting"))
	post = strings.Replace(post, "Subject: meeting", "Subject: [team] meeting", 1)
	post = strings.Replace(post, "A second line.\r\n", "A second line.\r\n-- \r\nteam mailing list\r\n", 1)
	return seal(t, list, post, arc.None, "spf=pass smtp.mailfrom=good.example",
		"dkim=pass header.d=good.example header.s=s1", dmarc+" header.from=good.example",
		"arc=none smtp.remote-ip=192.0.2.10")
}

// verifyOurs validates a delivered message with our own verifier against
// the gateway's DNS.
func verifyOurs(t *testing.T, h *harness, data []byte) arc.Result {
	t.Helper()
	res, err := resolver.New(resolver.Config{Servers: []string{h.dns.Addr()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return (&arc.Verifier{Resolver: res}).Verify(context.Background(), data)
}

func TestARCListPostRejectedWhenListNotTrusted(t *testing.T) {
	h := arcGateway(t)
	msg := listPost(t, h, listHop(t, h), "dmarc=pass")
	err := sendFrom(t, h.addr, "127.0.0.7", "team-bounces@lists.example", []string{"bob@example.org"}, msg)
	if smtpCode(err) != "550 5.7.26" {
		t.Fatalf("untrusted list: %v, want 550 5.7.26", err)
	}
	mustContain(t, h.logs.String(), "arc=pass")
}

func TestARCTrustedListDeliveredSealedAndReported(t *testing.T) {
	h := arcGateway(t, "lists.example")
	msg := listPost(t, h, listHop(t, h), "dmarc=pass")
	if err := sendFrom(t, h.addr, "127.0.0.7", "team-bounces@lists.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("trusted list: %v", err)
	}
	msgs, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	data := string(msgs[0].Data)
	added, _, ok := strings.Cut(data, msg)
	if !ok || !strings.HasPrefix(added, "Authentication-Results:") || !strings.Contains(added, "ARC-Seal: a=ed25519-sha256;") {
		t.Fatalf("delivered:\n%s", data)
	}
	mustContain(t, authResults(t, added), "arc=pass header.oldest-pass=0 smtp.remote-ip=127.0.0.7", "dmarc=fail", "trusted ARC sealer lists.example i=1")
	r := verifyOurs(t, h, msgs[0].Data)
	if r.Status != arc.Pass || len(r.Sets) != 2 || r.OldestPass != 0 { // the list sealed after its changes
		t.Fatalf("the delivered chain: %+v", r)
	}
	if d, _ := r.Sets[1].Sealer(); d != "test.example" || r.Sets[1].SealTags.Value("cv") != "pass" {
		t.Errorf("our set: %s cv=%s", d, r.Sets[1].SealTags.Value("cv"))
	}
	mustContain(t, r.Sets[1].Results, "arc=pass", "dmarc=fail")

	if out, err := runCmd(t, h, "reports", "send"); err != nil {
		t.Fatalf("reports send: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "the report", func() bool { return len(aggregateReports(t, h.out)["good.example"]) == 1 })
	rep := checkReportMessage(t, aggregateReports(t, h.out)["good.example"][0], "good.example") // RFC 9990 XSD-valid
	if len(rep.Records) != 1 {
		t.Fatalf("%d rows", len(rep.Records))
	}
	pe := rep.Records[0].Row.PolicyEvaluated
	if pe.Disposition != "none" || len(pe.Reasons) != 1 || pe.Reasons[0].Type != "trusted_forwarder" ||
		pe.Reasons[0].Comment != "arc=pass as[1].d=lists.example as[1].s=arc remote-ip[1]=192.0.2.10" {
		t.Errorf("row: %+v", pe)
	}
}

// TestARCStillRejected: what a trusted sealer's name cannot carry.
func TestARCStillRejected(t *testing.T) {
	h := arcGateway(t, "lists.example")
	list := listHop(t, h)
	good := listPost(t, h, list, "dmarc=pass")
	i := strings.Index(good, "b=") + 10
	flip := map[byte]byte{'A': 'B'}[good[i]]
	if flip == 0 {
		flip = 'A'
	}
	tampered := good[:i] + string(flip) + good[i+1:]
	// The list's valid set, replayed on a spoof sent straight to us.
	set := good[:strings.Index(good, "DKIM-Signature:")]
	replayed := set + message("ceo@good.example", "wire the money")
	cases := map[string]string{
		"tampered seal":               tampered,
		"replayed set":                replayed,
		"trusted AAR with dmarc=fail": listPost(t, h, list, "dmarc=fail"),
	}
	for name, msg := range cases {
		err := sendFrom(t, h.addr, "127.0.0.8", "x@lists.example", []string{"bob@example.org"}, msg)
		if smtpCode(err) != "550 5.7.26" {
			t.Errorf("%s: %v, want 550 5.7.26", name, err)
		}
	}
	if n := len(h.sink.Messages()); n != 0 {
		t.Errorf("%d delivered", n)
	}
}

// TestARCFirstHopSealed: mail that passes DMARC on its own gets a first
// set (cv=none) that our verifier validates.
func TestARCFirstHopSealed(t *testing.T) {
	h := arcGateway(t)
	msg := message("a@good.example", "direct")
	if err := sendFrom(t, h.addr, "127.0.0.2", "a@good.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	delivered(t, h, msg)
	msgs, _ := h.sink.Wait(1, time.Second)
	r := verifyOurs(t, h, msgs[0].Data)
	if r.Status != arc.Pass || len(r.Sets) != 1 || r.Sets[0].SealTags.Value("cv") != "none" {
		t.Fatalf("%+v", r)
	}
	mustContain(t, r.Sets[0].Results, "arc=none", "dmarc=pass")
}

// TestARCCheckShowsOverride: `dmarcgate check` gives the chain's result
// and the trusted sealer that stood in for DMARC, in text and JSON.
func TestARCCheckShowsOverride(t *testing.T) {
	h := arcGateway(t, "lists.example")
	file := filepath.Join(t.TempDir(), "post.eml")
	if err := os.WriteFile(file, []byte(listPost(t, h, listHop(t, h), "dmarc=pass")), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "--ip", "127.0.0.7", "--helo", "lists.example", "--mail-from", "team-bounces@lists.example"}
	out, err := runCmd(t, h, append(args, file)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	mustContain(t, out, "arc: pass, 1 sets, oldest-pass 0; DMARC failure delivered: trusted sealer lists.example (s=arc, i=1)")
	out, err = runCmd(t, h, append(args, "--json", file)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var doc struct {
		ARC struct {
			Result   string `json:"result"`
			Override struct {
				Sealer, Selector string
				Instance         int
				ClientIP         string `json:"client_ip"`
			} `json:"override"`
		} `json:"arc"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if a := doc.ARC; a.Result != "pass" || a.Override.Sealer != "lists.example" || a.Override.Selector != "arc" ||
		a.Override.Instance != 1 || a.Override.ClientIP != "192.0.2.10" {
		t.Errorf("--json arc: %+v", a)
	}
}

// TestARCBrokenChainSealedFail: a message we deliver whose chain does not
// validate gets our set with cv=fail, signing our set alone (RFC 8617
// §5.1.2): every later receiver sees the chain as failed, and a second
// pass through a sealer adds nothing.
func TestARCBrokenChainSealedFail(t *testing.T) {
	h := arcGateway(t)
	post := seal(t, listHop(t, h), message("a@none.example", "p=none"), arc.None, "dmarc=pass header.from=none.example")
	post = strings.Replace(post, "Hello there.", "Hello there, changed.", 1)
	if err := sendFrom(t, h.addr, "127.0.0.7", "team-bounces@lists.example", []string{"bob@example.org"}, post); err != nil {
		t.Fatal(err)
	}
	msgs, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	data := msgs[0].Data
	header := data[:auth.HeaderEnd(data)]
	var ours auth.Field
	for _, f := range auth.HeaderFields(header) {
		if f.Name == arc.SealField && strings.Contains(f.Value(), "d=test.example") {
			ours = f
		}
	}
	if !strings.Contains(ours.Value(), "cv=fail") || !strings.Contains(ours.Value(), "i=2") {
		t.Fatalf("our seal: %q", ours.Raw)
	}
	if r := verifyOurs(t, h, data); r.Status != arc.Fail {
		t.Errorf("delivered chain: %+v", r)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	sealer := &arc.Sealer{Domain: "other.example", Selector: "s", Key: key}
	if _, err := sealer.Seal(arc.SealInput{Header: header, BodyHash: make([]byte, 32), AuthservID: "x", Chain: arc.Fail}); !errors.Is(err, arc.ErrNoSeal) {
		t.Errorf("a set after our cv=fail: %v", err)
	}
}
