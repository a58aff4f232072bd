// Package needs lets a test ask for an outside program (xmllint, chromium,
// PostgreSQL's binaries) that CI installs from Debian. Outside CI a test
// whose program is missing skips, naming the package that brings it; inside
// CI (CI=true) it fails instead, so a missing install step cannot pass as a
// green run. It is for tests only.
package needs

import (
	"os"
	"os/exec"
	"testing"
)

// Command returns the path of the program name, or ends the test: Skip
// outside CI, Fatal in CI. debianPackage names what installs it.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	Missing(t, name+" not found (apt-get install "+debianPackage+")")
	return ""
}

// Missing ends the test for a missing outside component: Skip outside CI,
// Fatal in CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatal("CI: " + why)
	}
	t.Skip(why)
}

// InCI reports whether the test runs under CI (CI=true), where nothing a
// test needs may be missing.
func InCI() bool {
	return os.Getenv("CI") == "true"
}
