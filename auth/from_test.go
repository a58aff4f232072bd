package auth

import (
	"errors"
	"testing"
)

func TestParseFrom(t *testing.T) {
	tests := []struct {
		name   string
		header string
		domain string
		addr   string
		err    error
	}{
		{"plain", "From: alice@a.example\r\n\r\n", "a.example", "alice@a.example", nil},
		{"display name", "From: Alice Liddell <alice@A.Example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"quoted display name with at", "From: \"bob@evil.example\" <alice@a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"unquoted at in display name", "From: bob@evil.example <alice@a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"second mailbox before the angle-addr", "From: \"CEO\" ceo@bank.example, <x@evil.example>\r\n\r\n", "", "", ErrFromMultiple},
		{"second mailbox after a trailing dot", "From: victim@bank.example., <x@evil.example>\r\n\r\n", "", "", ErrFromMultiple},
		{"address after the angle-addr", "From: <x@evil.example> ceo@bank.example\r\n\r\n", "", "", ErrFromMultiple},
		{"comments inside the angle-addr", "From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n\r\n", "silly.test", "pete@silly.test", nil},
		{"comments", "From: (who) Alice (really) <alice@a.example> (work)\r\n\r\n", "a.example", "alice@a.example", nil},
		{"quoted local part", "From: \"alice smith\"@a.example\r\n\r\n", "a.example", "\"alice smith\"@a.example", nil},
		{"quoted local part with at", "From: <\"a@b\"@a.example>\r\n\r\n", "a.example", "\"a@b\"@a.example", nil},
		{"encoded word", "From: =?utf-8?q?Al=C3=AFce?= <alice@a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"unknown charset", "From: =?x-klingon?q?Qapla?= <alice@a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"folded", "From: Alice\r\n <alice@a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"folded with tab", "From:\r\n\tAlice <alice@\r\n a.example>\r\n\r\n", "a.example", "alice@a.example", nil},
		{"lower-case name", "from: alice@a.example\r\n\r\n", "a.example", "alice@a.example", nil},
		{"space before colon", "From : alice@a.example\r\n\r\n", "a.example", "alice@a.example", nil},
		{"bare LF", "Subject: x\nFrom: alice@a.example\n\n", "a.example", "alice@a.example", nil},
		{"trailing dot", "From: alice@a.example.\r\n\r\n", "a.example", "alice@a.example", nil},
		{"U-label", "From: Jöran <jöran@Bücher.example>\r\n\r\n", "xn--bcher-kva.example", "jöran@xn--bcher-kva.example", nil},
		{"A-label kept", "From: x@xn--bcher-kva.example\r\n\r\n", "xn--bcher-kva.example", "x@xn--bcher-kva.example", nil},
		{"group of one", "From: Team: alice@a.example;\r\n\r\n", "a.example", "alice@a.example", nil},
		{"two mailboxes one domain", "From: alice@a.example, bob@A.example\r\n\r\n", "a.example", "alice@a.example", nil},
		{"whole message", "From: alice@a.example\r\n\r\nFrom: body@b.example\r\n", "a.example", "alice@a.example", nil},
		{"missing", "Subject: hi\r\n\r\n", "", "", ErrFromMissing},
		{"only in body", "Subject: hi\r\n\r\nFrom: x@a.example\r\n", "", "", ErrFromMissing},
		{"empty block", "", "", "", ErrFromMissing},
		{"two fields", "From: alice@a.example\r\nFrom: alice@a.example\r\n\r\n", "", "", ErrFromMultiple},
		{"two domains", "From: alice@a.example, eve@b.example\r\n\r\n", "", "", ErrFromMultiple},
		{"two angle addrs", "From: junk <a@a.example> <b@b.example>\r\n\r\n", "", "", ErrFromMultiple},
		{"empty group", "From: undisclosed-recipients:;\r\n\r\n", "", "", ErrFromInvalid},
		{"empty", "From: \r\n\r\n", "", "", ErrFromInvalid},
		{"no domain", "From: alice\r\n\r\n", "", "", ErrFromInvalid},
		{"domain literal", "From: alice@[192.0.2.1]\r\n\r\n", "", "", ErrFromInvalid},
		{"empty label", "From: alice@a..example\r\n\r\n", "", "", ErrFromInvalid},
		{"null angle", "From: <>\r\n\r\n", "", "", ErrFromInvalid},
		{"bad domain chars", "From: alice@a!b.example\r\n\r\n", "", "", ErrFromInvalid},
		{"unbalanced angle", "From: Alice <alice@a.example\r\n\r\n", "", "", ErrFromInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain, addr, err := ParseFrom([]byte(tt.header))
			if !errors.Is(err, tt.err) || domain != tt.domain || addr != tt.addr {
				t.Fatalf("ParseFrom = %q, %q, %v; want %q, %q, %v", domain, addr, err, tt.domain, tt.addr, tt.err)
			}
		})
	}
}

func TestParseFromErrorsNamePackage(t *testing.T) {
	for _, err := range []error{ErrFromMissing, ErrFromMultiple, ErrFromInvalid} {
		if got := err.Error(); len(got) < 6 || got[:6] != "auth: " {
			t.Errorf("error %q does not start with the package name", got)
		}
	}
}
