package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"
)

// cbcSHA1 are the TLS 1.2 suites with CBC and HMAC-SHA1 (Lucky13-class
// padding oracles); the gateway must not agree to any of them.
var cbcSHA1 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

func TestInboundTLSRefusesCBCSHA1(t *testing.T) {
	certFile, keyFile := renewCert(t, t.TempDir(), "mx.test.example", time.Now())
	cert, err := loadCertificate(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cert.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	handshake := func(suites []uint16) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true,
			MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(cbcSHA1); err == nil {
		t.Error("a TLS 1.2 client offering only CBC-SHA1 suites completed a handshake")
	}
	if err := handshake(nil); err != nil {
		t.Errorf("a TLS 1.2 client with AEAD suites: %v", err)
	}
}
