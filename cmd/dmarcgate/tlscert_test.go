package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dmarcgate/config"
	"dmarcgate/smtpsink"
)

// renewCert writes a new self-signed certificate for host over the files
// in dir and moves their modification time to at, as a renewal would. It
// expires 2 to 8 days after at, by at's second, so that renewals written a
// second apart expire on different days.
func renewCert(t *testing.T, dir, host string, at time.Time) (certFile, keyFile string) {
	t.Helper()
	conf, err := smtpsink.SelfSignedTLSUntil(host, at.Add(time.Duration(at.Unix()%7+2)*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := pemEncode(t, conf.Certificates[0])
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, at, at); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func servedName(t *testing.T, c *certificate) string {
	t.Helper()
	cert, err := c.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.Subject.CommonName + strings.Join(cert.Leaf.DNSNames, ",")
}

func TestCertificateFollowsRenewedFiles(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	certFile, keyFile := renewCert(t, dir, "a.test", base)
	var logs bytes.Buffer
	c, err := loadCertificate(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.every = 0 // every handshake looks at the files
	c.nextCheck.Store(0)
	if got := servedName(t, c); !strings.Contains(got, "a.test") {
		t.Fatalf("serving %q, want a.test", got)
	}

	renewCert(t, dir, "b.test", base.Add(time.Second))
	if got := servedName(t, c); !strings.Contains(got, "b.test") {
		t.Fatalf("after renewal serving %q, want b.test", got)
	}

	// A half-written or broken renewal keeps the certificate in use.
	if err := os.WriteFile(certFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(certFile, base.Add(2*time.Second), base.Add(2*time.Second))
	if got := servedName(t, c); !strings.Contains(got, "b.test") {
		t.Fatalf("after a broken renewal serving %q, want b.test still", got)
	}
	if !strings.Contains(logs.String(), "did not load; keeping the certificate in use") {
		t.Errorf("the broken renewal was not logged:\n%s", logs.String())
	}

	// Between checks a renewal waits; SIGHUP loads it at once.
	c.every = time.Hour
	c.nextCheck.Store(time.Now().Add(time.Hour).UnixNano())
	renewCert(t, dir, "c.test", base.Add(3*time.Second))
	if got := servedName(t, c); !strings.Contains(got, "b.test") {
		t.Fatalf("before the next check serving %q, want b.test", got)
	}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go reloadOn(ctx, hup, func() { c.refresh(true) })
	hup <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(servedName(t, c), "c.test") {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not load the renewed certificate")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A running serve picks up a renewed certificate on SIGHUP, without a
// restart and without ending on the signal.
func TestServeReloadsCertificateOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	certFile, keyFile := renewCert(t, dir, "old.mx.test", base)
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile })
	var served *x509.Certificate
	handshake := func() string {
		conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		text := textproto.NewConn(conn)
		for _, cmd := range []string{"", "EHLO client.test", "STARTTLS"} {
			if cmd != "" {
				if err := text.PrintfLine("%s", cmd); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := text.ReadResponse(0); err != nil {
				t.Fatalf("after %q: %v", cmd, err)
			}
		}
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		served = tc.ConnectionState().PeerCertificates[0]
		return strings.Join(served.DNSNames, ",")
	}
	expiryMetric := func() int64 {
		resp, err := http.Get("http://" + h.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		const name = "dmarcgate_tls_certificate_expiry_timestamp_seconds "
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, name); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return int64(f)
			}
		}
		t.Fatalf("no %s in /metrics", name)
		return 0
	}
	if got := handshake(); got != "old.mx.test" {
		t.Fatalf("serving %q, want old.mx.test", got)
	}
	if got, want := expiryMetric(), served.NotAfter.Unix(); got != want {
		t.Errorf("expiry metric %d, want %d (the served certificate's)", got, want)
	}
	renewCert(t, dir, "new.mx.test", base.Add(time.Second))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the renewed certificate", func() bool { return handshake() == "new.mx.test" })
	if got, want := expiryMetric(), served.NotAfter.Unix(); got != want {
		t.Errorf("after the reload the expiry metric is %d, want %d", got, want)
	}
	if err := h.send("alice@nopolicy.example", []string{"bob@example.org"}, message("alice@nopolicy.example", "after SIGHUP")); err != nil {
		t.Fatalf("serve stopped accepting after SIGHUP: %v", err)
	}
}
