package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEShowsHowToTurnOnTheConsole: the README's "Web console" says
// how to make the password hash, TLS and the insecure flag, a reverse
// proxy, and shows screenshots that are in docs/.
func TestREADMEShowsHowToTurnOnTheConsole(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Web console\n")
	if !ok {
		t.Fatal(`README has no "## Web console"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, want := range []string{"dmarcgate console password", "[console]", "password_hash", "smtp.tls_cert",
		"console.insecure = true", "console served without TLS", "reverse proxy", "proxy_pass", "SIGHUP"} {
		if !strings.Contains(section, want) {
			t.Errorf("README's Web console does not mention %q", want)
		}
	}
	images := regexp.MustCompile(`!\[[^\]]+\]\((docs/[^)]+\.png)\)`).FindAllStringSubmatch(section, -1)
	if len(images) < 2 {
		t.Fatalf("%d screenshots in README's Web console, want two", len(images))
	}
	for _, m := range images {
		png, err := os.ReadFile(filepath.Join("..", "..", m[1]))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
			t.Errorf("%s: not a screenshot (%d bytes, %v)", m[1], len(png), err)
		}
	}
}
