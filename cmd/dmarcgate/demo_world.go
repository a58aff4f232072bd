package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"dmarcgate/resolver/resolvertest"
)

// The demo's made-up world: sender domains under the reserved .example
// TLD (RFC 2606), all sending from 127.0.0.1, served by an in-process DNS
// server. Nothing here is looked up outside the process.
const (
	demoHostname  = "mx.demo.example"
	demoRecipient = "bob@example.org"
	demoSelector  = "demo"
)

// demoPolicies are the three DMARC policies a domain owner can publish
// (RFC 9989 §4.7), one sender domain each.
var demoPolicies = []struct{ domain, record string }{
	{"none.example", "v=DMARC1; p=none; rua=mailto:dmarc@none.example"},
	{"quarantine.example", "v=DMARC1; p=quarantine; rua=mailto:dmarc@quarantine.example"},
	{"reject.example", "v=DMARC1; p=reject; rua=mailto:dmarc@reject.example"},
}

// demoKey is one Ed25519 DKIM key, made at start, that every policy
// domain publishes under the selector "demo".
type demoKey struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func newDemoKey() (*demoKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("demo: DKIM key: %w", err)
	}
	return &demoKey{priv: priv, pub: pub}, nil
}

// record is the DKIM key record (RFC 8463 §4.2 for k=ed25519).
func (k *demoKey) record() string {
	return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k.pub)
}

// sign adds a DKIM-Signature of domain (RFC 6376 §5).
func (k *demoKey) sign(domain, msg string) (string, error) {
	var out bytes.Buffer
	opts := &dkim.SignOptions{Domain: domain, Selector: demoSelector, Signer: k.priv,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}}
	if err := dkim.Sign(&out, strings.NewReader(msg), opts); err != nil {
		return "", fmt.Errorf("demo: DKIM sign: %w", err)
	}
	return out.String(), nil
}

// demoZone publishes SPF for every domain, DMARC and the DKIM key for the
// policy domains; attacker.example and lists.example have SPF only.
func demoZone(key *demoKey) resolvertest.Zone {
	const spf = `"v=spf1 ip4:127.0.0.1 -all"`
	zone := resolvertest.Zone{
		"attacker.example.": {"attacker.example. 300 IN TXT " + spf},
		"lists.example.":    {"lists.example. 300 IN TXT " + spf},
	}
	for _, p := range demoPolicies {
		d := p.domain + "."
		zone[d] = []string{d + " 300 IN TXT " + spf}
		zone["_dmarc."+d] = []string{fmt.Sprintf("_dmarc.%s 300 IN TXT %q", d, p.record)}
		kn := demoSelector + "._domainkey." + d
		zone[kn] = []string{fmt.Sprintf("%s 300 IN TXT %q", kn, key.record())}
	}
	return zone
}

// demoMessage is one scenario: who sends what, and how.
type demoMessage struct {
	title    string
	mailFrom string // envelope sender (SPF is checked for its domain)
	from     string // From: header address (DMARC's subject)
	signer   string // DKIM d= domain; "" for unsigned
	tamper   bool   // change the body after signing, as a mailing list footer does
}

var demoMessages = []demoMessage{
	{title: "A newsletter from reject.example, signed, sent by its own server",
		mailFrom: "bounces@reject.example", from: "news@reject.example", signer: "reject.example"},
	{title: "A message from quarantine.example forwarded by a list: SPF is the list's, the signature survives",
		mailFrom: "owner@lists.example", from: "carol@quarantine.example", signer: "quarantine.example"},
	{title: "A forgery of none.example: the owner only monitors (p=none)",
		mailFrom: "x@attacker.example", from: "ceo@none.example"},
	{title: "A forgery of quarantine.example (p=quarantine)",
		mailFrom: "x@attacker.example", from: "billing@quarantine.example"},
	{title: "A forgery of reject.example (p=reject)",
		mailFrom: "x@attacker.example", from: "security@reject.example"},
	{title: "A signed message from reject.example whose body a list changed: the signature breaks",
		mailFrom: "owner@lists.example", from: "news@reject.example", signer: "reject.example", tamper: true},
}

// build writes the message (CRLF), signed and tampered as the scenario
// says; n makes its Message-ID unique.
func (m demoMessage) build(key *demoKey, n int) (msg, msgID string, err error) {
	msgID = fmt.Sprintf("<demo-%d-%d@%s>", n, time.Now().UnixNano(), domainOf(m.from))
	subject := strings.SplitN(m.title, ":", 2)[0]
	msg = fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n\r\nHello Bob,\r\nthis is message %d of the dmarcgate demo.\r\n",
		m.from, demoRecipient, subject, time.Now().Format(time.RFC1123Z), msgID, n)
	if m.signer != "" {
		if msg, err = key.sign(m.signer, msg); err != nil {
			return "", "", err
		}
	}
	if m.tamper {
		msg += "--\r\nYou are subscribed to a list at lists.example.\r\n"
	}
	return msg, msgID, nil
}

func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
