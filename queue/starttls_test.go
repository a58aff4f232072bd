package queue

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"dmarcgate/smtpsink"
)

// tlsSink is an outbound destination offering STARTTLS with conf.
func tlsSink(t *testing.T, conf *tls.Config) *smtpsink.Sink {
	t.Helper()
	return smtpsink.Start(t, smtpsink.Options{TLS: conf})
}

// sendOutbound enqueues one report to the sink (as a per-message
// smarthost) and waits for its first attempt to end.
func sendOutbound(t *testing.T, q *Queue, sink *smtpsink.Sink) *Message {
	t.Helper()
	id := enqueue(t, q, &Message{Route: RouteOutbound, Kind: KindReport, From: "reports@mx.test",
		To: []string{"rua@dest.test"}, Smarthost: sink.Addr()}, origBody)
	var m *Message
	waitFor(t, 10*time.Second, "the attempt to end", func() bool {
		var err error
		m, err = q.Get(id)
		return errors.Is(err, ErrNotFound) || (err == nil && m.Attempts > 0)
	})
	return m
}

// A host that offered STARTTLS and failed the handshake gets no plain
// text: an attacker on the path could make any handshake fail.
func TestNoPlaintextAfterFailedSTARTTLS(t *testing.T) {
	broken := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate")
	}}
	sink := tlsSink(t, broken)
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	start(t, q)
	m := sendOutbound(t, q, sink)
	if sink.Count() != 0 {
		t.Fatalf("the message went in plain text after the failed handshake")
	}
	if m == nil || !strings.Contains(m.LastError, "STARTTLS") {
		t.Errorf("entry %+v: want it deferred with a STARTTLS error", m)
	}
}

func TestPlaintextFallbackWhenConfigured(t *testing.T) {
	broken := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate")
	}}
	sink := tlsSink(t, broken)
	db, dir := openDB(t)
	cfg := testConfig(dir)
	cfg.PlaintextFallback = true
	q := newQueue(t, db, cfg)
	start(t, q)
	sendOutbound(t, q, sink)
	if got, err := sink.Wait(1, 5*time.Second); err != nil || got[0].TLS {
		t.Fatalf("want one message in plain text: %v", err)
	}
}

// Outbound TLS 1.2 never settles for a CBC-SHA1 suite.
func TestOutboundRefusesCBCSHA1(t *testing.T) {
	conf, err := smtpsink.SelfSignedTLS("cbc.test")
	if err != nil {
		t.Fatal(err)
	}
	conf.MaxVersion = tls.VersionTLS12
	conf.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA}
	sink := tlsSink(t, conf)
	db, dir := openDB(t)
	q := newQueue(t, db, testConfig(dir))
	start(t, q)
	sendOutbound(t, q, sink)
	for _, m := range sink.Messages() {
		if m.TLS {
			t.Fatalf("a TLS session with a CBC-SHA1 suite carried the message")
		}
	}
	if sink.Count() != 0 {
		t.Fatalf("the message went in plain text after the failed handshake")
	}
}
