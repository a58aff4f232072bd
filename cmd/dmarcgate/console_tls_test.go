package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"dmarcgate/config"
)

// The console on an address that is not loopback: TLS with the STARTTLS
// certificate, or plain HTTP only with console.insecure. The tests listen
// on the any address but send every request to 127.0.0.1.

// wildcardListens are the spellings of "every interface"; none is loopback.
var wildcardListens = []string{"0.0.0.0:0", "[::]:0", ":0"}

func consoleHash(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(consolePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(hash)
}

// consoleOn runs serve with the console set by tweak; it returns the
// scheme the log announces and the console's URL on 127.0.0.1.
func consoleOn(t *testing.T, tweak func(*config.Config)) (h *harness, scheme, base string) {
	t.Helper()
	h = newHarness(t, func(c *config.Config) {
		tweak(c)
		if err := c.Validate(); err != nil {
			t.Fatalf("the configuration does not validate: %v", err)
		}
	})
	m := regexp.MustCompile(`msg="console listening" url=(https?)://(\S+):(\d+)/`).FindStringSubmatch(h.logs.String())
	if m == nil {
		t.Fatalf("no console URL in the log:\n%s", h.logs.String())
	}
	if m[2] != "0.0.0.0" && m[2] != "[::]" {
		t.Fatalf("console listens on %s, want the any address", m[2])
	}
	return h, m[1], m[1] + "://127.0.0.1:" + m[3]
}

// consoleConfigFile writes a configuration with the given [console] keys
// (and smtp TLS files when certFile is set) and returns its path.
func consoleConfigFile(t *testing.T, consoleKeys, certFile, keyFile string) string {
	t.Helper()
	dir := t.TempDir()
	doc := fmt.Sprintf(baseConfig, dir, "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1")
	if certFile != "" {
		doc = strings.Replace(doc, "[smtp]\n", fmt.Sprintf("[smtp]\ntls_cert = %q\ntls_key = %q\n", certFile, keyFile), 1)
	}
	doc += "[console]\n" + consoleKeys
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runWith runs one command line with a deadline and returns its exit
// code, stderr and how long it took.
func runWith(args ...string) (int, string, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return code, errb.String(), time.Since(start)
}

// TestConsoleOffLoopbackWithoutTLSRefusesToStart: on every spelling of
// the any address, without smtp.tls_cert and without console.insecure,
// `config check` and `serve` refuse at once and name the keys to set; the
// same file with either set, or on loopback, passes.
func TestConsoleOffLoopbackWithoutTLSRefusesToStart(t *testing.T) {
	hash := consoleHash(t)
	certFile, keyFile := renewCert(t, t.TempDir(), "mx.test.example", time.Now().Add(-time.Hour))
	for _, listen := range wildcardListens {
		keys := fmt.Sprintf("listen = %q\npassword_hash = %q\n", listen, hash)
		path := consoleConfigFile(t, keys, "", "")
		for _, args := range [][]string{{"config", "check", "--config", path}, {"serve", "--config", path}} {
			code, stderr, took := runWith(args...)
			if code != exitUsage || took > 10*time.Second {
				t.Errorf("%s, listen %s: exit %d after %v, want %d at once; stderr %q", args[0], listen, code, took, exitUsage, stderr)
			}
			for _, key := range []string{"console.listen", "not a loopback address", "smtp.tls_cert", "smtp.tls_key", "console.insecure = true"} {
				if !strings.Contains(stderr, key) {
					t.Errorf("%s, listen %s: the error does not name %q: %q", args[0], listen, key, stderr)
				}
			}
		}
		for what, p := range map[string]string{
			"with console.insecure": consoleConfigFile(t, keys+"insecure = true\n", "", ""),
			"with smtp.tls_cert":    consoleConfigFile(t, keys, certFile, keyFile),
			"on loopback":           consoleConfigFile(t, fmt.Sprintf("listen = \"127.0.0.1:0\"\npassword_hash = %q\n", hash), "", ""),
		} {
			if code, stderr, _ := runWith("config", "check", "--config", p); code != exitOK {
				t.Errorf("config check %s (listen %s): exit %d: %s", what, listen, code, stderr)
			}
		}
	}
}

// TestServeRefusesUnvalidatedConsoleWithoutTLS: a configuration built in
// code skips validation; serve still refuses plain HTTP off loopback
// with a configuration error instead of starting (or crashing).
func TestServeRefusesUnvalidatedConsoleWithoutTLS(t *testing.T) {
	doc := fmt.Sprintf(baseConfig, t.TempDir(), "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1")
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Console = config.Console{Listen: "0.0.0.0:0", PasswordHash: consoleHash(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = serve(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "console.listen" || !strings.Contains(err.Error(), "smtp.tls_cert") {
		t.Fatalf("serve = %v, want a configuration error on console.listen naming smtp.tls_cert", err)
	}
}

// tlsConsoleClient trusts the given certificate files; redirects are
// followed unless follow is false.
func tlsConsoleClient(t *testing.T, jar http.CookieJar, follow bool, certFiles ...string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, f := range certFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !pool.AppendCertsFromPEM(data) {
			t.Fatalf("%s: no certificate", f)
		}
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// checkStrictCookie fails unless resp sets cookie name with Secure,
// HttpOnly and SameSite=Strict.
func checkStrictCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v; want all three strict (%v)",
					name, c.Secure, c.HttpOnly, c.SameSite, resp.Header.Values("Set-Cookie"))
			}
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, resp.Header.Values("Set-Cookie"))
	return nil
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConsoleOffLoopbackServesHTTPSOnly: with the STARTTLS certificate
// the console on the any address speaks HTTPS only, with strict cookies,
// and a SIGHUP's certificate reload reaches it without a restart.
func TestConsoleOffLoopbackServesHTTPSOnly(t *testing.T) {
	certDir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	certFile, keyFile := renewCert(t, certDir, "mx.test.example", base)
	oldCert := filepath.Join(t.TempDir(), "old.pem")
	if data, err := os.ReadFile(certFile); err != nil || os.WriteFile(oldCert, data, 0o600) != nil {
		t.Fatal("keeping the first certificate", err)
	}
	h, scheme, url0 := consoleOn(t, func(c *config.Config) {
		c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile
		c.Console = config.Console{Listen: "0.0.0.0:0", PasswordHash: consoleHash(t)}
	})
	if scheme != "https" {
		t.Fatalf("the console announces %s, want https", scheme)
	}
	if strings.Contains(h.logs.String(), "console served without TLS") {
		t.Error("a warning about plain HTTP although the console speaks TLS")
	}
	plainGetsNoPage(t, strings.Replace(url0, "https://", "http://", 1)+"/login")

	jar, _ := cookiejar.New(nil)
	raw := tlsConsoleClient(t, jar, false, oldCert)
	resp, err := raw.Get(url0 + "/login")
	if err != nil {
		t.Fatalf("HTTPS with the STARTTLS certificate verified: %v", err)
	}
	if resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("TLS state %v, HSTS %q", resp.TLS != nil, resp.Header.Get("Strict-Transport-Security"))
	}
	checkStrictCookie(t, resp, "dmarcgate_login")
	m := consoleCSRF.FindStringSubmatch(readBody(t, resp))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("login form: %d, token %v", resp.StatusCode, m)
	}
	resp, err = raw.PostForm(url0+"/login", url.Values{"csrf": {m[1]}, "password": {consolePassword}})
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := checkStrictCookie(t, resp, "dmarcgate_session"); c.MaxAge <= 0 || c.Value == "" {
		t.Errorf("session cookie %+v", c)
	}
	cc := &consoleClient{t: t, base: url0, c: tlsConsoleClient(t, jar, true, oldCert)}
	if code, body := cc.do(http.MethodGet, "/", nil); code != http.StatusOK || !strings.Contains(body, "<h1>Overview</h1>") {
		t.Fatalf("Overview over TLS after login: %d\n%s", code, body)
	}

	// A renewed certificate, loaded on SIGHUP, is the console's next one.
	renewCert(t, certDir, "renewed.mx.test", base.Add(time.Second))
	hangup(t, h, `msg="STARTTLS certificate loaded"`)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url0, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	served := conn.ConnectionState().PeerCertificates[0].DNSNames
	conn.Close()
	if len(served) != 1 || served[0] != "renewed.mx.test" {
		t.Fatalf("after SIGHUP the console serves %v, want renewed.mx.test", served)
	}
	cc.c = tlsConsoleClient(t, jar, true, certFile)
	if code, body := cc.do(http.MethodGet, "/", nil); code != http.StatusOK || !strings.Contains(body, "<h1>Overview</h1>") {
		t.Fatalf("Overview with the renewed certificate: %d\n%s", code, body)
	}
}

// plainGetsNoPage: a plain HTTP request to the HTTPS console gets no page
// (net/http answers 400 to a request that is not a TLS handshake).
func plainGetsNoPage(t *testing.T, u string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		return
	}
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusOK || strings.Contains(body, `name="password"`) || strings.Contains(body, "csrf") {
		t.Fatalf("plain HTTP got a page: %d\n%s", resp.StatusCode, body)
	}
}

// TestConsoleInsecureOffLoopbackWarns: console.insecure serves plain HTTP
// on the any address, says so in a warning, and sends no Secure cookie
// (a browser would not keep one over HTTP) and no HSTS; on loopback there
// is no warning.
func TestConsoleInsecureOffLoopbackWarns(t *testing.T) {
	h, scheme, url0 := consoleOn(t, func(c *config.Config) {
		c.Console = config.Console{Listen: "0.0.0.0:0", PasswordHash: consoleHash(t), Insecure: true}
	})
	if scheme != "http" {
		t.Fatalf("the console announces %s, want http", scheme)
	}
	if !regexp.MustCompile(`level=WARN msg="console served without TLS on a non-loopback address \(console.insecure = true\)[^"]*" addr=\S+`).MatchString(h.logs.String()) {
		t.Fatalf("no warning about plain HTTP in the log:\n%s", h.logs.String())
	}
	raw := &http.Client{Timeout: 30 * time.Second}
	resp, err := raw.Get(url0 + "/login")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("login form over plain HTTP: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	for _, c := range resp.Cookies() {
		if c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s over plain HTTP: Secure %v, HttpOnly %v, SameSite %v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
	newConsoleClient(t, url0).login()

	lh, _ := consoleHarness(t)
	if strings.Contains(lh.logs.String(), "console served without TLS") {
		t.Error("the console on loopback warns about plain HTTP")
	}
}
