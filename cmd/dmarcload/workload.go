package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

const (
	// recipient is at the one domain the gateway accepts.
	acceptDomain = "bench.example"
	recipient    = "user@" + acceptDomain
	// spooferDomain passes SPF but is unrelated to any From domain, so a
	// message sent with it as MAIL FROM and no signature fails DMARC.
	spooferDomain = "mailer.spoofer.example"
	// selector is the DKIM selector of every sender domain.
	selector = "sel"
	// poolSize distinct messages per kind are built (and signed) up front,
	// so that signing is not part of what is measured.
	poolSize = 64
	// poolBytes bounds the memory the pools take with large -size.
	poolBytes = 256 << 20
	// minSize leaves room for the headers.
	minSize = 512
)

// message is one prepared transaction.
type message struct {
	from    string // MAIL FROM
	data    []byte // header and body, CRLF line ends
	spoofed bool   // must be rejected by a DMARC-enforcing receiver
}

// workload decides which message the i-th transaction sends.
type workload struct {
	n          int
	spoofedPct int
	pipelining bool // the client pipelines MAIL, RCPT and DATA (RFC 2920), as MTAs do
	perConn    int  // transactions per connection, 0: no limit
	tls        bool // STARTTLS on every connection
	legit      []message
	spoofed    []message
}

// senderDomain is the i-th sender domain; each publishes SPF, DMARC
// p=reject and (with -auth) a DKIM key.
func senderDomain(i int) string { return fmt.Sprintf("sender%d.example", i+1) }

// newWorkload builds the message pools. keys holds one RSA key per sender
// domain when the legitimate messages are to be DKIM-signed, else nil.
func newWorkload(o options, keys []*rsa.PrivateKey) (*workload, error) {
	w := &workload{n: o.n, spoofedPct: o.spoofed, pipelining: o.pipelining, perConn: o.perConn, tls: o.tls}
	count := max(1, min(poolSize, poolBytes/(2*o.size)))
	for i := range count {
		domain := senderDomain(i % o.domains)
		data := buildMessage(i, "legit", domain, o.size)
		if keys != nil {
			signed, err := sign(data, domain, keys[i%o.domains])
			if err != nil {
				return nil, err
			}
			data = signed
		}
		w.legit = append(w.legit, message{from: "bounce@" + domain, data: data})
		spoof := buildMessage(i, "spoofed", domain, o.size)
		w.spoofed = append(w.spoofed, message{from: "bounce@" + spooferDomain, data: spoof, spoofed: true})
	}
	return w, nil
}

// isSpoofed spreads the spoofed transactions evenly: exactly
// floor(n*pct/100) of the first n are spoofed, for every n.
func (w *workload) isSpoofed(i int) bool {
	return (i+1)*w.spoofedPct/100 > i*w.spoofedPct/100
}

// spoofedCount is how many of the workload's transactions are spoofed.
func (w *workload) spoofedCount() int { return w.n * w.spoofedPct / 100 }

// message returns the i-th transaction's message.
func (w *workload) message(i int) message {
	if w.isSpoofed(i) {
		return w.spoofed[i%len(w.spoofed)]
	}
	return w.legit[i%len(w.legit)]
}

// buildMessage writes a plain-text message of exactly size bytes (when
// size leaves room for the headers) with From at domain.
func buildMessage(i int, kind, domain string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Load %d <load%d@%s>\r\n", i, i, domain)
	fmt.Fprintf(&b, "To: <%s>\r\n", recipient)
	fmt.Fprintf(&b, "Subject: %s load message %d\r\n", kind, i)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%d@%s>\r\n", kind, i, domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	writeBody(&b, i, size-b.Len())
	return b.Bytes()
}

// writeBody appends about n bytes of 78-byte lines (never starting with
// a dot, so nothing is dot-stuffed), the last one shortened to fit.
func writeBody(b *bytes.Buffer, seed, n int) {
	const width = 76
	line := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 4)[seed%36:][:width])
	for n > 0 {
		k := min(width, n-2)
		if k < 1 {
			k = 1
		}
		b.Write(line[:k])
		b.WriteString("\r\n")
		n -= k + 2
	}
}

// sign returns data with a relaxed/relaxed RSA-SHA256 DKIM-Signature of
// domain (RFC 6376 §3.5) prepended.
func sign(data []byte, domain string, key *rsa.PrivateKey) ([]byte, error) {
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(data), &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"},
	})
	if err != nil {
		return nil, fmt.Errorf("dkim sign for %s: %w", domain, err)
	}
	return out.Bytes(), nil
}

// generateKeys makes one RSA 2048 key per sender domain.
func generateKeys(domains int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, domains)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("rsa key: %w", err)
		}
		keys[i] = k
	}
	return keys, nil
}
