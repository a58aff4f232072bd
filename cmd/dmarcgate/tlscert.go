package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"dmarcgate/config"
	"dmarcgate/internal/tlsconf"
)

// certCheckEvery is how often a handshake may look whether the certificate
// files changed.
const certCheckEvery = time.Minute

// certificate serves the STARTTLS certificate from its files and picks up
// a renewed one without a restart (ACME clients replace the files every
// few weeks, and an MX whose certificate expired fails senders that check
// it, MTA-STS and DANE): at once on SIGHUP, otherwise when a handshake
// finds the files changed, looking at most every certCheckEvery. Files that
// do not load leave the previous certificate in use, and say so in the log.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	every             time.Duration

	current   atomic.Pointer[loadedCert]
	nextCheck atomic.Int64 // unix nanoseconds
	checking  atomic.Bool  // one handshake looks; the others go on
}

type loadedCert struct {
	cert  *tls.Certificate
	stamp fileStamp
}

// fileStamp tells files apart from their replacements (certbot switches
// symlinks; Stat follows them).
type fileStamp struct {
	certMod, keyMod   int64
	certSize, keySize int64
}

// loadCertificate loads the pair once; a failure is a configuration error
// naming smtp.tls_cert.
func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log, every: certCheckEvery}
	loaded, err := c.load()
	var ce *config.Error
	if errors.As(err, &ce) {
		return nil, ce
	}
	if err != nil {
		return nil, &config.Error{Key: "smtp.tls_cert", Msg: err.Error()}
	}
	c.current.Store(loaded)
	c.nextCheck.Store(time.Now().Add(c.every).UnixNano())
	return c, nil
}

func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{GetCertificate: c.get, MinVersion: tls.VersionTLS12, CipherSuites: tlsconf.CipherSuites()}
}

// notAfter is when the certificate in use expires.
func (c *certificate) notAfter() time.Time { return c.current.Load().cert.Leaf.NotAfter }

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if now := time.Now(); now.UnixNano() >= c.nextCheck.Load() && c.checking.CompareAndSwap(false, true) {
		c.nextCheck.Store(now.Add(c.every).UnixNano())
		c.refresh(false)
		c.checking.Store(false)
	}
	return c.current.Load().cert, nil
}

// refresh loads the files again if they changed since the certificate in
// use was loaded, or in any case when forced (SIGHUP). It reports whether
// a new certificate is now in use.
func (c *certificate) refresh(force bool) bool {
	stamp, err := stampOf(c.certFile, c.keyFile)
	if err != nil {
		c.log.Warn("STARTTLS certificate files unreadable; keeping the certificate in use", "err", err)
		return false
	}
	if !force && stamp == c.current.Load().stamp {
		return false
	}
	loaded, err := c.load()
	if err != nil {
		c.log.Warn("STARTTLS certificate did not load; keeping the certificate in use", "cert", c.certFile, "err", err)
		return false
	}
	c.current.Store(loaded)
	c.log.Info("STARTTLS certificate loaded", "cert", c.certFile, "subject", loaded.cert.Leaf.Subject.String(),
		"not_after", loaded.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return true
}

func (c *certificate) load() (*loadedCert, error) {
	stamp, err := stampOf(c.certFile, c.keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil { // set by LoadX509KeyPair since Go 1.23
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &loadedCert{cert: &cert, stamp: stamp}, nil
}

func stampOf(certFile, keyFile string) (fileStamp, error) {
	ci, err := os.Stat(certFile)
	if err != nil {
		return fileStamp{}, err
	}
	ki, err := os.Stat(keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{ci.ModTime().UnixNano(), ki.ModTime().UnixNano(), ci.Size(), ki.Size()}, nil
}
