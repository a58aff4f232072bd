package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The control socket lives in a directory only the service user can
// enter, so no other user can reach it between its creation and any
// chmod; the socket itself is 0600.
func TestControlSocketPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctl, err := startControl(dir, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	sock := filepath.Join(dir, "control", controlSocket)
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatalf("control socket not in a directory of its own: %v", err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a 0600 socket", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", di.Mode().Perm())
	}
}

// A peer whose uid is neither root nor the service user (SO_PEERCRED) is
// refused with a clear error, and no operation runs.
func TestControlSocketRefusesOtherUID(t *testing.T) {
	if !peerCredentials {
		t.Skip("peer credentials are read on Linux only")
	}
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl, err := startControlAllow(dir, nil, log, func(uint32) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	var out strings.Builder
	err = callServer(context.Background(), dir, "queue-list", "", &out)
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("a refused peer got %v (output %q), want a 'not allowed' error", err, out.String())
	}
}
