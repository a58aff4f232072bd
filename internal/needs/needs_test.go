package needs

import "testing"

func TestCommandFindsAProgramOnPath(t *testing.T) {
	if p := Command(t, "go", "golang"); p == "" {
		t.Fatal("go is on PATH for tests, but Command returned no path")
	}
}

func TestInCIFollowsTheEnvironment(t *testing.T) {
	t.Setenv("CI", "true")
	if !InCI() {
		t.Fatal("CI=true, but InCI is false")
	}
	t.Setenv("CI", "")
	if InCI() {
		t.Fatal("CI unset, but InCI is true")
	}
}
