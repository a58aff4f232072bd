package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"dmarcgate/config"
)

// errNoState: a one-shot command found no database. It says so rather
// than create an empty one (a typo in --config or state_dir would
// otherwise show an empty queue, as if all were well).
var errNoState = errors.New("no state database")

// stateExists checks that serve has created the state before a one-shot
// command opens it.
func stateExists(cfg *config.Config) error {
	path := filepath.Join(cfg.StateDir, dbFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w at %s: dmarcgate serve has not run with state_dir %s (check --config and state_dir)", errNoState, path, cfg.StateDir)
	}
	return nil
}

// checkStateDir checks what serve needs of state_dir: a directory it can
// write, or one it can create; and a database it can open for writing.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := nearestExisting(filepath.Dir(dir))
		if err := writableDir(parent); err != nil {
			return &config.Error{Key: "state_dir", Msg: fmt.Sprintf("%s does not exist and cannot be created: %v", dir, err)}
		}
		return nil
	case err != nil:
		return &config.Error{Key: "state_dir", Msg: err.Error()}
	case !fi.IsDir():
		return &config.Error{Key: "state_dir", Msg: dir + " is not a directory"}
	}
	if err := writableDir(dir); err != nil {
		return &config.Error{Key: "state_dir", Msg: err.Error()}
	}
	db := filepath.Join(dir, dbFile)
	if err := syscall.Access(db, accessRW); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &config.Error{Key: "state_dir", Msg: fmt.Sprintf("%s: cannot be opened for writing: %v", db, err)}
	}
	return nil
}

const (
	accessW  = 0x2 // W_OK
	accessX  = 0x1 // X_OK
	accessRW = 0x6 // R_OK | W_OK
)

func writableDir(dir string) error {
	if err := syscall.Access(dir, accessW|accessX); err != nil {
		return fmt.Errorf("%s: not writable by uid %d: %v", dir, os.Getuid(), err)
	}
	return nil
}

// nearestExisting walks up from dir to the first path that exists.
func nearestExisting(dir string) string {
	for range 256 {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return dir
}
