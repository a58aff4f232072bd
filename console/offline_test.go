package console

import (
	"regexp"
	"testing"
)

// remoteRef is a reference a browser would fetch from another host: an
// absolute or scheme-relative URL in src, href, action or a CSS url().
var remoteRef = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import`)

// TestConsoleLoadsNothingFromAnotherHost: the console works offline; no
// page nor the stylesheet names an asset on another host.
func TestConsoleLoadsNothingFromAnotherHost(t *testing.T) {
	f := newFixture(t)
	c := f.loggedIn()
	pages := append(f.pagesWithData(), "/login", "/static/console.css", "/reports/1796515200/good.example", "/domains/good.example")
	for _, p := range pages {
		_, body := f.get(c, p)
		if m := remoteRef.FindString(body); m != "" {
			t.Errorf("%s refers to another host: %q", p, m)
		}
	}
}
