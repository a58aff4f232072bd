package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmarcgate/config"
)

// delivered waits for the one message at the sink and returns our added
// header block (the fields before the original message).
func delivered(t *testing.T, h *harness, original string) string {
	t.Helper()
	msgs, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := string(msgs[len(msgs)-1].Data)
	i := strings.Index(s, original[:strings.Index(original, "\r\n")])
	if i < 0 {
		t.Fatalf("original message not found in delivery:\n%s", s)
	}
	return s[:i]
}

func authResults(t *testing.T, added string) string {
	t.Helper()
	i := strings.Index(added, "Authentication-Results:")
	if i < 0 {
		t.Fatalf("no Authentication-Results in:\n%s", added)
	}
	ar := added[i:]
	// Unfold the field.
	end := len(ar)
	for j := 0; j+2 < len(ar); j++ {
		if ar[j] == '\r' && ar[j+1] == '\n' && ar[j+2] != ' ' && ar[j+2] != '\t' {
			end = j
			break
		}
	}
	return strings.Join(strings.Fields(ar[:end]), " ")
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("missing %q in:\n%s", w, s)
		}
	}
}

func TestDMARCPassViaSPFOnly(t *testing.T) {
	h := newHarness(t, nil)
	msg := message("alice@good.example", "spf only")
	if err := h.send("alice@good.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("aligned SPF pass refused: %v", err)
	}
	ar := authResults(t, delivered(t, h, msg))
	mustContain(t, ar, "spf=pass smtp.mailfrom=good.example", "dkim=none", "dmarc=pass", "p=reject", "dis=none", "header.from=good.example")
}

func TestDMARCPassViaDKIMOnlyWhenForwarded(t *testing.T) {
	h := newHarness(t, nil)
	s := h.newRSASigner("good.example", "s1")
	msg := s.sign(t, message("alice@good.example", "forwarded"))
	// The forwarder's own SPF passes but is not aligned with good.example.
	if err := h.send("list@forwarder.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("forwarded mail with an aligned DKIM pass refused: %v", err)
	}
	ar := authResults(t, delivered(t, h, msg))
	mustContain(t, ar, "spf=pass smtp.mailfrom=forwarder.example", "dkim=pass header.d=good.example header.s=s1", "dmarc=pass")
}

func TestDMARCRejectSeenByClient(t *testing.T) {
	h := newHarness(t, nil)
	err := h.send("spoof@forwarder.example", []string{"bob@example.org"}, message("ceo@good.example", "spoofed"))
	if got := smtpCode(err); got != "550 5.7.26" {
		t.Fatalf("spoofed From of a p=reject domain: %s, want 550 5.7.26", got)
	}
	mustContain(t, err.Error(), "DMARC", "good.example")
	time.Sleep(200 * time.Millisecond)
	if h.sink.Count() != 0 {
		t.Fatal("a rejected message was relayed")
	}
}

func TestDMARCQuarantineHeader(t *testing.T) {
	h := newHarness(t, nil)
	msg := message("x@quar.example", "quarantine me")
	if err := h.send("x@quar.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	added := delivered(t, h, msg)
	mustContain(t, added, "X-Spam-Flag: YES\r\n")
	if names := strings.Join(headerNames(added), ","); names != "Authentication-Results,Received,X-Spam-Flag" {
		t.Errorf("added fields = %s, want our verdict on top and the quarantine header last", names)
	}
	mustContain(t, authResults(t, added), "dmarc=fail", "p=quarantine", "dis=quarantine")
}

func TestDMARCQuarantineHold(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DMARC.Quarantine = "hold" })
	msg := message("x@quar.example", "hold me")
	if err := h.send("x@quar.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, h, "quarantine", "list")
	if err != nil || !strings.Contains(out, "1 message(s)") {
		t.Fatalf("quarantine list: %v\n%s", err, out)
	}
	if h.sink.Count() != 0 {
		t.Fatal("a held message was relayed")
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out, err := runCmd(t, h, "quarantine", "release", id); err != nil {
		t.Fatalf("release: %v %s", err, out)
	}
	mustContain(t, delivered(t, h, msg), "dis=quarantine")
}

func TestDMARCMonitorModeNeverRejects(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DMARC.Mode = "monitor" })
	msg := message("ceo@good.example", "spoofed, monitored")
	if err := h.send("spoof@forwarder.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("monitor mode refused: %v", err)
	}
	added := delivered(t, h, msg)
	mustContain(t, authResults(t, added), "dmarc=fail", "p=reject", "dis=none")
	if strings.Contains(added, "X-Spam-Flag") {
		t.Error("monitor mode quarantined")
	}
}

func TestDMARCTempErrorGives451(t *testing.T) {
	h := newHarness(t, nil)
	h.dns.Fail("_dmarc.broken.example.", dns.RcodeServerFailure)
	err := h.send("x@broken.example", []string{"bob@example.org"}, message("x@broken.example", "temperror"))
	if got := smtpCode(err); !strings.HasPrefix(got, "451 4.7.") {
		t.Fatalf("DMARC lookup SERVFAIL: %s, want 451 4.7.x", got)
	}
}

func TestForgedAuthResultsRemoved(t *testing.T) {
	h := newHarness(t, nil)
	msg := message("alice@good.example", "forged A-R",
		"Authentication-Results: mx.test.example; dmarc=pass header.from=good.example",
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=x.example")
	if err := h.send("alice@good.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	msgs, err := h.sink.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := string(msgs[0].Data)
	if n := strings.Count(got, "Authentication-Results: mx.test.example"); n != 1 {
		t.Errorf("%d A-R fields with our authserv-id, want only ours:\n%s", n, got)
	}
	mustContain(t, got, "Authentication-Results: other.example; spf=pass")
	if strings.Contains(got, "mx.test.example; dmarc=pass header.from") {
		t.Error("the forged field survived")
	}
}

func TestDKIMEd25519AndAlteredBody(t *testing.T) {
	h := newHarness(t, nil)
	ed := h.newEd25519Signer("good.example", "ed")
	msg := ed.sign(t, message("alice@good.example", "ed25519"))
	if err := h.send("list@forwarder.example", []string{"bob@example.org"}, msg); err != nil {
		t.Fatalf("ed25519-signed forwarded mail refused: %v", err)
	}
	mustContain(t, authResults(t, delivered(t, h, msg)), "dkim=pass header.d=good.example header.s=ed", "ed25519-sha256", "dmarc=pass")

	rs := h.newRSASigner("good.example", "s2")
	altered := strings.Replace(rs.sign(t, message("alice@good.example", "altered")), "Hello there.", "Hello thera.", 1)
	err := h.send("list@forwarder.example", []string{"bob@example.org"}, altered)
	if got := smtpCode(err); got != "550 5.7.26" {
		t.Fatalf("body altered after signing: %s, want 550 5.7.26", got)
	}
}

func TestCheckCommandMatchesServer(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SMTP.MaxMessageSize = 2 << 20 })
	cases := []struct {
		name, mailFrom, msg, wantDisposition, wantReply string
	}{
		{"spoof", "spoof@forwarder.example", message("ceo@good.example", "spoofed"), "reject", "550 5.7.26"},
		{"pass", "alice@good.example", message("alice@good.example", "fine"), "deliver", "250"},
		{"quarantine", "x@quar.example", message("x@quar.example", "q"), "quarantine", "250"},
		// A header section beyond what the gateway keeps (1 MiB) is refused.
		{"header too big", "alice@good.example", message("alice@good.example", "big", "X-Filler: start"+strings.Repeat("\r\n\t"+strings.Repeat("f", 76), 14000)), "malformed", "552 5.3.4"},
		// Over max_message_size: refused while read, before any evaluation.
		{"message too big", "alice@good.example", message("alice@good.example", "huge", "X-Filler: x") + strings.Repeat(strings.Repeat("b", 78)+"\r\n", 30000), "too-big", "552 5.3.4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(h.dir, c.name+".eml")
			if err := os.WriteFile(file, []byte(c.msg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := runCmdCode(t, h, "check", "--ip", "127.0.0.1", "--helo", "client.test", "--mail-from", c.mailFrom, "--json", file)
			if code == exitFailure || code == exitUsage {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var v checkOutput
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("check --json output: %v\n%s", err, out)
			}
			serverReply := smtpCode(h.send(c.mailFrom, []string{"bob@example.org"}, c.msg))
			if v.Disposition != c.wantDisposition || !strings.HasPrefix(v.Reply, c.wantReply) || !strings.HasPrefix(v.Reply, serverReply) {
				t.Errorf("check says %s / %q; server said %q; want %s / %s", v.Disposition, v.Reply, serverReply, c.wantDisposition, c.wantReply)
			}
		})
	}
}
