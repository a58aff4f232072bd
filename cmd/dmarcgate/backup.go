package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// `dmarcgate backup FILE` writes a consistent copy of the state database
// (one bbolt read transaction, Tx.WriteTo) to FILE.tmp, fsyncs it, checks
// that it opens, and renames it to FILE. With serve running, serve takes
// the copy (it holds the file lock); otherwise the command reads the file
// itself, read-only.

func cmdBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("backup")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageError{"usage: dmarcgate backup FILE [--config FILE]"}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	n, err := writeBackup(ctx, cfg.StateDir, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes, a consistent copy of %s\n", pos[0], n, filepath.Join(cfg.StateDir, dbFile))
	return nil
}

// writeBackup writes the copy to file by way of file.tmp.
func writeBackup(ctx context.Context, stateDir, file string) (int64, error) {
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := copyState(ctx, stateDir, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkCopy(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, syncDir(filepath.Dir(file))
}

// copyState asks a running serve for the copy, or else takes it itself.
func copyState(ctx context.Context, stateDir string, w io.Writer) (int64, error) {
	resp, err := askServer(ctx, stateDir, "/backup", nil)
	if err == nil {
		defer resp.Body.Close()
		n, err := io.Copy(w, resp.Body)
		if err == nil && n != resp.ContentLength {
			err = fmt.Errorf("backup: got %d of %d bytes from serve", n, resp.ContentLength)
		}
		return n, err
	}
	if !errors.Is(err, errNoServer) {
		return 0, err
	}
	path := filepath.Join(stateDir, dbFile)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("%w at %s: nothing to back up", errNoState, path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 3 * time.Second})
	if err != nil {
		return 0, fmt.Errorf("backup: open %s: %w (is a dmarcgate serve using it without answering on its control socket?)", path, err)
	}
	defer db.Close()
	return dumpDB(db, w)
}

// dumpDB writes the database as one read transaction sees it.
func dumpDB(db *bolt.DB, w io.Writer) (n int64, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// checkCopy opens the copy and checks its page structure: a backup that
// does not open is found now, not on the day it is needed.
func checkCopy(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("backup: the copy %s does not open: %w", path, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // read to the end: Check's goroutine sends them all
			if first == nil {
				first = fmt.Errorf("backup: the copy %s is damaged: %w", path, err)
			}
		}
		return first
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// serveBackup takes the copy into a file in state_dir, then sends that:
// the read transaction lasts as long as a local copy, not as long as a
// client takes to read (a long one would hold up commits that grow the
// file: bbolt remaps under a lock that read transactions share).
func serveBackup(w http.ResponseWriter, r *http.Request, a *app, stateDir string, log *slog.Logger) {
	f, err := os.CreateTemp(stateDir, "backup-*.tmp")
	if err != nil {
		http.Error(w, "backup: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	n, err := dumpDB(a.db.Bolt, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		log.Warn("backup failed", "err", err)
		http.Error(w, "backup: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if _, err := io.Copy(w, f); err != nil {
		log.Warn("backup not received in full", "by", requester(r.Context()), "err", err)
		return
	}
	log.Info("state database backed up", "bytes", n, "took", time.Since(start).Round(time.Millisecond), "by", requester(r.Context()))
}
