package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// A bounce goes only to a sender we have reason to believe: none to a
// MAIL FROM whose SPF failed, none for a message that failed DMARC unless
// SPF vouches for its MAIL FROM, and what it quotes of the original header
// is a few identifying fields, bounded.
func TestNoBackscatterToForgedSenders(t *testing.T) {
	h := newHarness(t, nil)
	h.sink.SetReply(func(from string, to []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no mailbox here"}
	})
	// SPF fails for quar.example (-all) from 127.0.0.1.
	if err := h.send("victim@quar.example", []string{"gone@example.org"}, message("alice@nopolicy.example", "forged sender")); err != nil {
		t.Fatal(err)
	}
	// DMARC fails for none.example (p=none: accepted), SPF has nothing to say for the sender.
	if err := h.send("victim@nospf.example", []string{"gone@example.org"}, message("alice@none.example", "dmarc fail")); err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("X-Junk: "+strings.Repeat("j", 900)+"\r\n", 60)
	legit := strings.Replace(message("alice@nopolicy.example", "bounce me"), "Subject:", junk+"Subject:", 1)
	if err := h.send("alice@good.example", []string{"gone@example.org"}, legit); err != nil {
		t.Fatal(err)
	}
	dsns, err := h.out.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "an empty queue", func() bool {
		msgs, _ := queueList(t, h)
		return strings.Contains(msgs, "0 message(s)")
	})
	if n := h.out.Count(); n != 1 {
		for _, d := range h.out.Messages() {
			t.Logf("DSN to %v", d.To)
		}
		t.Fatalf("%d DSNs, want 1 (to the sender SPF vouches for)", n)
	}
	d := dsns[0]
	if len(d.To) != 1 || d.To[0] != "alice@good.example" {
		t.Errorf("DSN to %v", d.To)
	}
	quoted := string(d.Data[strings.Index(string(d.Data), "Undelivered Message Headers"):])
	if strings.Contains(quoted, "X-Junk") || !strings.Contains(quoted, "Subject: bounce me") {
		t.Errorf("quoted header not minimal:\n%.600s", quoted)
	}
	if len(d.Data) > 8<<10 {
		t.Errorf("DSN is %d bytes; the quoted header is not bounded", len(d.Data))
	}
}
