package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

// listenControl creates state_dir/control (0700, ours) and listens on the
// socket in it. The directory is checked, not trusted: a symlink or a
// directory of another owner is refused.
func listenControl(stateDir string) (net.Listener, error) {
	dir := filepath.Join(stateDir, controlDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return nil, err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if uid, ok := fileOwner(fi); ok && int(uid) != os.Getuid() {
		return nil, fmt.Errorf("%s belongs to uid %d, not to us", dir, uid)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, controlSocket)
	_ = os.Remove(path) // a stale socket of a previous run; the database lock proves no serve uses it
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// serviceUID: root and the user serve runs as may use the control socket.
func serviceUID(uid uint32) bool {
	return uid == 0 || int(uid) == os.Getuid()
}

// onlyPeers answers 403 to a peer whose uid (SO_PEERCRED) allow refuses,
// before any operation runs. Where the uid cannot be read (not Linux),
// the 0700 directory alone guards the socket.
func onlyPeers(h http.Handler, allow func(uint32) bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uid, known := peerUIDOf(r.Context()); known && !allow(uid) {
			log.Warn("control socket: peer refused", "by", requester(r.Context()))
			http.Error(w, fmt.Sprintf("control socket: uid %d is not allowed (root or uid %d only)", uid, os.Getuid()),
				http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
