// Package queue is dmarcgate's durable relay queue: it spools accepted
// messages (bbolt entries, small bodies inline, large ones as files), hands
// them to delivery workers that speak SMTP or LMTP to the downstream relay
// or to outbound destinations (pipelined, over connections kept open for
// the next message), retries with backoff, and bounces with RFC 3464 DSNs.
// It does not decide whether mail is accepted: smtpd does.
package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/resolver"
	"dmarcgate/store"
)

// Buckets owned by the queue.
var (
	entryBucket = []byte("queue")
	bodyBucket  = []byte("queue.body")
)

// ErrNotFound: no entry with that ID.
var ErrNotFound = errors.New("queue: no such entry")

// Config configures a Queue. Zero values take the defaults named below.
type Config struct {
	Dir           string // state directory; bodies spill to Dir/spool
	Hostname      string // EHLO name and DSN Reporting-MTA
	RelayAddr     string // downstream host:port for RouteRelay
	RelayProtocol string // "smtp" (default) or "lmtp"
	RelayTLS      bool   // opportunistic STARTTLS to the relay too
	Smarthost     string // host:port for RouteOutbound; "" = MX of each recipient domain
	OutboundPort  int    // port of MX hosts; default 25
	Resolver      resolver.Resolver

	// BodyMemory bounds what bodies being received hold in memory at
	// once beyond MemoryKept each; a body that cannot get its share goes
	// to a spool file. Default 64 MiB.
	BodyMemory int64
	// MinFreeSpace: StorageLow reports ErrStorageFull when state_dir has
	// fewer free bytes (0: no floor). MaxSpoolInFlight bounds the bytes
	// that bodies being received hold in spool files together; a body
	// past it fails with ErrStorageFull (0: no bound). See storage.go.
	MinFreeSpace     int64
	MaxSpoolInFlight int64

	Workers int // concurrent relay deliveries; default 16
	// OutboundWorkers deliver mail the gateway originates (RouteOutbound:
	// DSNs, reports) apart from relay mail; default 4.
	OutboundWorkers int
	// MaxConnsPerHost bounds concurrent outbound deliveries to one MX
	// address (not to a configured smarthost); default 2.
	MaxConnsPerHost int
	RetryFirst      time.Duration // first retry delay, doubling; default 1m
	RetryMax        time.Duration // cap of the retry delay; default 1h
	GiveUp          time.Duration // default give-up age; default 5 days
	DialTimeout     time.Duration // default 30s
	// CommandTimeout, when set, is the default of every stage in Timeouts
	// (tests scale them all with it).
	CommandTimeout time.Duration
	// Timeouts bound each stage of a transaction as a whole (RFC 5321
	// §4.5.3.2), however the server trickles its bytes.
	Timeouts StageTimeouts
	// TransactionTimeout bounds a whole transaction, from dialling to the
	// final reply, plus Size/MinTransferRate; default 15m.
	TransactionTimeout time.Duration
	// MinTransferRate is the slowest rate in bytes/s a message body may
	// go at before the transfer is abandoned; default 8192.
	MinTransferRate int64

	// Delivery connections stay open for the next message to the same
	// server until idle for IdleConnTimeout (default 5s) or after
	// MaxConnMessages transactions (default 1000; 1 disables reuse).
	IdleConnTimeout time.Duration
	MaxConnMessages int

	// TLSConfig is the client configuration for STARTTLS; default is
	// opportunistic (certificates not verified): any TLS beats plain text,
	// with a session cache (see clientTLS).
	TLSConfig *tls.Config
	// PlaintextFallback: after a failed STARTTLS with an outbound host that
	// offered it, try again in plain text. Off: the recipients are
	// deferred (an attacker on the path can make any handshake fail).
	// Delivery to the downstream always falls back (relay.tls).
	PlaintextFallback bool
	// Postmaster is the From: of DSNs; default MAILER-DAEMON@Hostname.
	Postmaster string
	// OnPermanentFailure is called for each recipient that bounced.
	OnPermanentFailure func(m *Message, rcpt string, err error)

	Logger *slog.Logger
	Now    func() time.Time // for tests; default time.Now
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return errors.New("queue: Config.Dir is required")
	}
	if c.Hostname == "" {
		return errors.New("queue: Config.Hostname is required")
	}
	switch c.RelayProtocol = strings.ToLower(c.RelayProtocol); c.RelayProtocol {
	case "":
		c.RelayProtocol = "smtp"
	case "smtp", "lmtp":
	default:
		return fmt.Errorf("queue: unknown relay protocol %q", c.RelayProtocol)
	}
	setDefault(&c.OutboundPort, 25)
	setDefault(&c.BodyMemory, 64<<20)
	setDefault(&c.Workers, 16)
	setDefault(&c.RetryFirst, time.Minute)
	setDefault(&c.RetryMax, time.Hour)
	setDefault(&c.GiveUp, 5*24*time.Hour)
	setDefault(&c.DialTimeout, 30*time.Second)
	setDefault(&c.OutboundWorkers, 4)
	setDefault(&c.MaxConnsPerHost, 2)
	c.Timeouts.setDefaults(c.CommandTimeout)
	setDefault(&c.TransactionTimeout, 15*time.Minute)
	setDefault(&c.MinTransferRate, 8192)
	setDefault(&c.IdleConnTimeout, 5*time.Second)
	setDefault(&c.MaxConnMessages, 1000)
	if c.RetryMax < c.RetryFirst {
		c.RetryMax = c.RetryFirst
	}
	if c.TLSConfig == nil {
		c.TLSConfig = clientTLS()
	}
	if c.Postmaster == "" {
		c.Postmaster = "MAILER-DAEMON@" + c.Hostname
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Queue is the durable relay queue.
type Queue struct {
	cfg      Config
	db       *store.DB
	spoolDir string
	log      *slog.Logger
	index    *index
	pool     *pool
	fresh    chan freshEntry // Enqueue to an idle relay worker; see handOff
	// freshOutbound is fresh for the outbound lane (see lanes.go).
	freshOutbound chan freshEntry
	hosts         *hostSlots    // outbound deliveries in progress per MX address
	memory        *memoryBudget // bodies being received, in memory
	spool         *memoryBudget // bodies being received, in spool files; nil: no bound
	free          freeSpace     // state_dir's free space, looked up at most once a second

	run runState
}

// runState is the workers' lifecycle, set by Start and Stop.
type runState struct {
	mu           sync.Mutex
	started      bool
	stopWork     context.CancelFunc // stop taking new work
	stopDelivery context.CancelFunc // abort deliveries in flight
	wake         chan struct{}      // capacity 1: a pending wake-up
	wg           *sync.WaitGroup
}

// New opens the queue kept in db, creating its buckets and spool directory,
// removing spool files a crash left without an entry, and loading the
// schedule of every entry (deliveries resume at Start or RunOnce).
func New(db *store.DB, cfg Config) (*Queue, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	q := &Queue{
		cfg:      cfg,
		db:       db,
		spoolDir: filepath.Join(cfg.Dir, "spool"),
		log:      cfg.Logger,
		index:    newIndex(),
		pool:     newPool(cfg.IdleConnTimeout, cfg.MaxConnMessages, cfg.Workers),
		fresh:    make(chan freshEntry),

		freshOutbound: make(chan freshEntry),
		hosts:         newHostSlots(cfg.MaxConnsPerHost),
		memory:        &memoryBudget{limit: cfg.BodyMemory},
	}
	if cfg.MaxSpoolInFlight > 0 {
		q.spool = &memoryBudget{limit: cfg.MaxSpoolInFlight}
	}
	if err := os.MkdirAll(q.spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	err := db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{entryBucket, bodyBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: creating buckets: %w", err)
	}
	spooled, err := q.load()
	if err != nil {
		return nil, err
	}
	q.removeOrphans(spooled)
	return q, nil
}

// load fills the schedule from the stored entries and returns the IDs whose
// bodies are spool files.
func (q *Queue) load() (map[string]bool, error) {
	spooled := map[string]bool{}
	err := q.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(entryBucket).ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil {
				// Keep whatever body it may have: a spool file is only an
				// orphan when no entry at all names it.
				q.log.Error("queue: skipping unreadable entry; its spool file is kept", "id", string(k), "err", err)
				spooled[string(k)] = true
				return nil
			}
			ids.observe(rec.ID)
			if rec.Spooled {
				spooled[rec.ID] = true
			}
			q.index.track(rec)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("queue: loading entries: %w", err)
	}
	return spooled, nil
}

// removeOrphans deletes spool files with no entry: written before a crash
// or a failed commit.
func (q *Queue) removeOrphans(spooled map[string]bool) {
	files, err := os.ReadDir(q.spoolDir)
	if err != nil {
		q.log.Warn("queue: reading spool directory", "err", err)
		return
	}
	for _, f := range files {
		if !spooled[f.Name()] {
			os.Remove(filepath.Join(q.spoolDir, f.Name()))
		}
	}
}

func (q *Queue) spoolPath(id string) string { return filepath.Join(q.spoolDir, id) }

func (q *Queue) now() time.Time { return q.cfg.Now() }

func (q *Queue) expireOf(m *Message) time.Duration {
	if m.Expire > 0 {
		return m.Expire
	}
	return q.cfg.GiveUp
}
