package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dmarcgate/config"
)

// Below queue.min_free_space free bytes on state_dir, MAIL gets 452 4.3.1
// (RFC 3463 §3.4: insufficient system storage) before anything is read.
func TestMailRefusedBelowFreeSpaceFloor(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Queue.MinFreeSpace = 1 << 62 })
	err := h.send("alice@good.example", []string{"bob@example.org"}, message("alice@good.example", "disk"))
	if got := smtpCode(err); got != "452 4.3.1" {
		t.Fatalf("MAIL with the disk below the floor: %s, want 452 4.3.1", got)
	}
}

// A stalled connection holds its spool file; the bytes such files hold
// together are capped by queue.max_spool_in_flight: the next large body
// is read to its end and refused with 452 4.3.1, and the stalled one still
// completes.
func TestSpoolInFlightCapped(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Queue.MaxSpoolInFlight = 3 << 20 })
	big := message("alice@good.example", "big", "X-Pad: "+strings.Repeat("p", 60)) +
		strings.Repeat(strings.Repeat("x", 998)+"\r\n", 2000) // 2 MB: a spool file
	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@good.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stalled body in its spool file", func() bool {
		return spoolTempBytes(h.dir) >= 1900000
	})
	err = h.send("alice@good.example", []string{"bob@example.org"}, big)
	if got := smtpCode(err); got != "452 4.3.1" {
		t.Fatalf("a second 2 MB body past max_spool_in_flight = 3 MiB: %s, want 452 4.3.1", got)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the stalled message, once ended: %v", err)
	}
}

// spoolTempBytes sums the spool files of bodies being received.
func spoolTempBytes(stateDir string) int64 {
	files, _ := filepath.Glob(filepath.Join(stateDir, "spool", "tmp-*"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}
