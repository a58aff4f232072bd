package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// consolePassword is the bench console's password; only its hash goes
// into the gateway's configuration.
const consolePassword = "bench console password"

// pollEvery is how often the poller loads Overview, as a browser left
// open on it with a refresh each second would.
const pollEvery = time.Second

// consoleHash is the bcrypt hash of consolePassword.
func consoleHash() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(consolePassword), bcrypt.MinCost)
	return string(h), err
}

// consoleText is the [console] section, when the run has one.
func (g gatewaySetup) consoleText() string {
	if g.consoleHash == "" {
		return ""
	}
	return fmt.Sprintf("\n[console]\nlisten = \"127.0.0.1:0\"\npassword_hash = %q\n", g.consoleHash)
}

var consoleURL = regexp.MustCompile(`msg="console listening" url=(http://127\.0\.0\.1:\d+)/`)

// consoleBase finds the console's URL in the gateway's log (it is logged
// before the SMTP listener, which startGateway waited for).
func (l gatewayLog) consoleBase() (string, error) {
	data, err := os.ReadFile(l.path)
	if err != nil {
		return "", err
	}
	m := consoleURL.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("no console URL in the gateway's log")
	}
	return string(m[1]), nil
}

// poller loads the console's Overview every pollEvery until stopped.
type poller struct {
	base   string
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	pages  int
	errs   int
	lastEr error
}

// startPoller logs in and starts polling.
func startPoller(base string) (*poller, error) {
	jar, _ := cookiejar.New(nil)
	p := &poller{base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, done: make(chan struct{})}
	if err := p.login(); err != nil {
		return nil, fmt.Errorf("console login: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
	return p, nil
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p *poller) login() error {
	body, err := p.get("/login")
	if err != nil {
		return err
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		return fmt.Errorf("no form token on the login page")
	}
	resp, err := p.client.PostForm(p.base+"/login", url.Values{"csrf": {m[1]}, "password": {consolePassword}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		return fmt.Errorf("login answered %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	return nil
}

func (p *poller) get(path string) (string, error) {
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return string(b), err
}

func (p *poller) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		_, err := p.get("/")
		p.mu.Lock()
		if err != nil {
			p.errs++
			p.lastEr = err
		} else {
			p.pages++
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop ends the polling and says what it did.
func (p *poller) stop() string {
	if p == nil {
		return ""
	}
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("console poller: %d Overview pages loaded, %d errors", p.pages, p.errs)
	if p.lastEr != nil {
		s += " (last: " + p.lastEr.Error() + ")"
	}
	return s
}

// startConsolePoller starts a poller when on; a nil poller stops as a
// no-op.
func (g *gateway) startConsolePoller(on bool) (*poller, error) {
	if !on {
		return nil, nil
	}
	base, err := g.log.consoleBase()
	if err != nil {
		return nil, err
	}
	return startPoller(base)
}
