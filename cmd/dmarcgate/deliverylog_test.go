package main

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// A delivery line names the address connected to and the downstream's
// reply (with its queue id), or the address that could not be reached and why.
func TestDeliveryLineNamesReplyAndAddress(t *testing.T) {
	h := newHarness(t, nil)
	h.sink.SetDataReply(func(string, []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as 4XyZ42"}
	})
	from := "alice@nopolicy.example"
	if err := h.send(from, []string{"carol@example.org"}, message(from, "x")); err != nil {
		t.Fatal(err)
	}
	line := waitLine(t, h, "msg=delivery ", "carol@example.org")
	for _, want := range []string{"outcome=delivered", "addr=" + h.sink.Addr() + " ", `reply="250 2.0.0 Ok: queued as 4XyZ42"`, "to=[carol@example.org]"} {
		if !strings.Contains(line, want) {
			t.Errorf("delivery line lacks %s: %s", want, line)
		}
	}

	h.sink.Close()
	if err := h.send(from, []string{"dave@example.org"}, message(from, "x")); err != nil {
		t.Fatal(err)
	}
	line = waitLine(t, h, "msg=delivery ", "dave@example.org")
	for _, want := range []string{"outcome=deferred", "addr=" + h.sink.Addr() + " ", `err="connecting to `, "connection refused"} {
		if !strings.Contains(line, want) {
			t.Errorf("failed delivery line lacks %s: %s", want, line)
		}
	}
}
