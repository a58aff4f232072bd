package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

// TestSealerFromKeyFiles: the seal key files serve seals, PKCS#8 from
// openssl (RSA, Ed25519) and PKCS#1 RSA, whose key record (as arc
// key-record prints it) validates them.
func TestSealerFromKeyFiles(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := filepath.Join(t.TempDir(), "pkcs1.pem")
	if err := os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := "From: <a@good.example>\r\nTo: <bob@example.org>\r\nSubject: hi\r\n\r\nHello.\r\n"
	for _, file := range []string{keyData + "openssl-rsa2048.pem", keyData + "openssl-ed25519.pem", pkcs1} {
		cfg, err := loadConfig(arcConfig(t, sealKeys(file)))
		if err != nil {
			t.Fatal(err)
		}
		sealer, err := newSealer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := loadSealKey(cfg)
		name := "arc1._domainkey.lists.example.org."
		srv := resolvertest.Start(t, resolvertest.Zone{name: {name + " 300 IN TXT " + quoteTXT(key.Record())}})
		res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		end := auth.HeaderEnd([]byte(msg))
		bh := arc.NewBodyHasher(arc.Relaxed, sha256.New(), -1)
		_, _ = bh.Write([]byte(msg[end:]))
		set, err := sealer.Seal(arc.SealInput{Header: []byte(msg[:end]), BodyHash: bh.Sum(), AuthservID: "mx.test", Chain: arc.None})
		if err != nil {
			t.Fatal(err)
		}
		if r := (&arc.Verifier{Resolver: res}).Verify(context.Background(), append(set, msg...)); r.Status != arc.Pass {
			t.Errorf("%s: %s (%s)", filepath.Base(file), r.Status, r.Reason)
		}
	}
}
