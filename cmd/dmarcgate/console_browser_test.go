package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dmarcgate/internal/needs"
)

// -update-screenshots copies two of the browser test's screenshots to docs/.
var updateScreenshots = flag.Bool("update-screenshots", false, "write docs/console-*.png from the browser test")

// screenshotDir is where the browser test leaves its screenshots:
// $TEST_OUTPUT_DIR when set, else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("TEST_OUTPUT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser starts Debian's headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := needs.Command(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var copts []chromedp.ContextOption
	if os.Getenv("CHROMEDP_DEBUG") != "" {
		copts = append(copts, chromedp.WithDebugf(t.Logf))
	}
	ctx, cancelCtx := chromedp.NewContext(actx, copts...)
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestConsoleInABrowser drives a real Chromium through the console of a
// running serve: log in, see the accepted, held and rejected messages on
// Overview and Messages, release the held one (it reaches the
// downstream), and take a screenshot of each page.
func TestConsoleInABrowser(t *testing.T) {
	ctx := browser(t)
	h, base := consoleHarness(t)
	sendThree(t, h)
	importOwnReport(t, h)
	// The ring is written off the SMTP path: wait until it holds all three.
	cc := newConsoleClient(t, base)
	cc.login()
	waitFor(t, 10*time.Second, "three verdicts in the ring", func() bool {
		_, body := cc.do(http.MethodGet, "/messages", nil)
		return strings.Count(body, `<tr class="o-`) == 3
	})
	// Overview is computed at most every two seconds: wait for one with all three.
	waitFor(t, 10*time.Second, "an overview with three verdicts", func() bool {
		_, body := cc.do(http.MethodGet, "/", nil)
		return strings.Count(body, `<tr class="o-`) == 3
	})
	dir := screenshotDir(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
	}
	visit := func(path, waitFor, name string) {
		t.Helper()
		do(chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
		shot(name)
	}
	visit("/quarantine", "#password", "login") // not logged in: the login form
	do(chromedp.SendKeys(chromedp.ID("password"), consolePassword), chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("figure.chart")))
	overview := text("main")
	shot("overview")
	visit("/messages", "table.verdicts", "messages")
	messages := text("main")
	do(chromedp.Click(chromedp.CSS("table.verdicts tr.o-rejected a[href^='/messages/']")), chromedp.WaitVisible(chromedp.CSS("pre.header")))
	shot("message")
	visit("/quarantine", "td.actions", "quarantine")
	do(chromedp.Click(chromedp.CSS("td.actions form[action$='/release'] button")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	flash := text("p.flash")
	visit("/queue", "main h1", "queue")
	visit("/reports", "main h1", "reports")
	visit("/domains", "main h1", "domains")
	visit("/domains/example.org?days=7", "figure.chart", "domain")
	do(chromedp.EmulateViewport(390, 844))
	visit("/", "figure.chart", "overview-phone")
	for _, want := range []string{"3 messages", "good.example", "quar.example", "accepted", "quarantined", "rejected", "127.0.0.1"} {
		if !strings.Contains(overview, want) {
			t.Errorf("Overview lacks %q:\n%s", want, overview)
		}
	}
	for _, want := range []string{"accepted", "quarantined", "rejected", "good.example", "quar.example", "hold", "reject"} {
		if !strings.Contains(messages, want) {
			t.Errorf("Messages lacks %q:\n%s", want, messages)
		}
	}
	if !strings.Contains(flash, "released for delivery") {
		t.Errorf("after Release the page says %q", flash)
	}
	msgs, err := h.sink.Wait(2, 10*time.Second)
	if err != nil {
		t.Fatalf("the released message did not reach the downstream: %v", err)
	}
	if !strings.Contains(string(msgs[1].Data), "Subject: hold me") {
		t.Errorf("second delivery is not the released message:\n%.300s", msgs[1].Data)
	}
	for _, n := range []string{"login", "overview", "messages", "message", "quarantine", "queue", "reports", "domains", "domain", "overview-phone"} {
		if fi, err := os.Stat(filepath.Join(dir, "console-"+n+".png")); err != nil || fi.Size() < 1000 {
			t.Errorf("screenshot %s: %v", n, err)
		}
	}
	t.Logf("screenshots in %s", dir)
	if *updateScreenshots {
		for _, n := range []string{"overview", "messages"} {
			b, err := os.ReadFile(filepath.Join(dir, "console-"+n+".png"))
			if err == nil {
				err = os.WriteFile(filepath.Join("..", "..", "docs", fmt.Sprintf("console-%s.png", n)), b, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
}
