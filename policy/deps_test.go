package policy

import (
	"os/exec"
	"strings"
	"testing"
)

// pureImports are the packages policy may import: pure standard-library
// packages (no network, files, clock or randomness of their own) and the
// public suffix list for the legacy organizational-domain method.
var pureImports = map[string]bool{
	"errors": true, "fmt": true, "strconv": true, "strings": true, "net/url": true,
	"sort": true, "slices": true, "unicode": true, "unicode/utf8": true,
	"golang.org/x/net/publicsuffix": true,
}

// Packages that must not be reachable except through publicsuffix, which
// drags in net/http for its cookiejar interface and is never asked to use it.
var impureDeps = []string{"net", "net/http", "os/exec", "math/rand", "math/rand/v2", "crypto/rand", "syscall/js"}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found:", err)
	}
	out, err := exec.Command(goBin, append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}

func TestImportsArePure(t *testing.T) {
	imports := goList(t, "-f", `{{join .Imports " "}}`, ".")
	if len(imports) == 0 {
		t.Fatal("go list reported no imports at all")
	}
	var std []string
	for _, imp := range imports {
		if !pureImports[imp] {
			t.Errorf("policy imports %s, which is not on the list of pure packages", imp)
		}
		if imp != "golang.org/x/net/publicsuffix" {
			std = append(std, imp)
		}
	}
	for _, dep := range goList(t, append([]string{"-deps"}, std...)...) {
		for _, bad := range impureDeps {
			if dep == bad {
				t.Errorf("policy's standard imports reach %s", dep)
			}
		}
	}
	nonStd := goList(t, "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, ".")
	for _, dep := range nonStd {
		if dep != "dmarcgate/policy" && dep != "golang.org/x/net/publicsuffix" {
			t.Errorf("policy depends on third-party package %s", dep)
		}
	}
}
