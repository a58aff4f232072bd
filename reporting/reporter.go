package reporting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"go.etcd.io/bbolt"

	"dmarcgate/queue"
	"dmarcgate/resolver"
	"dmarcgate/store"
)

// Reporter records evaluated messages into aggregate rows and sends the
// aggregate reports (RFC 9990) when periods end. It does not deliver mail
// itself: reports go through the durable queue. It is safe for concurrent
// use; Send calls are serialised.
type Reporter struct {
	cur    atomic.Pointer[Config] // swapped whole by Reload
	db     *store.DB
	q      *queue.Queue
	res    resolver.Resolver
	log    *slog.Logger
	signer atomic.Pointer[dkimSigner] // nil: reports go unsigned
	auth   *authorizer

	// openFrom is the start of the open period when Send closed one early
	// (Unix seconds); periods never start before it.
	openFrom atomic.Int64
	sendMu   sync.Mutex
}

// Summary says what one Send did.
type Summary struct {
	Closed     int // periods x domains closed by this call
	Generated  int // reports built
	Enqueued   int // report messages handed to the queue
	Recipients int // destinations those messages go to
	Skipped    int // destinations refused: unauthorized, suppressed, capped
	Deferred   int // reports waiting for a destination check that failed temporarily
	Dropped    int // destinations given up: never verified before DropAfter
}

// New opens the reporter's state in db, creating its buckets. q carries
// the reports; res checks external destinations.
func New(db *store.DB, q *queue.Queue, res resolver.Resolver, cfg Config) (*Reporter, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if db == nil || q == nil || res == nil {
		return nil, errors.New("reporting: New needs a database, a queue and a resolver")
	}
	r := &Reporter{db: db, q: q, res: res, log: cfg.Logger, auth: newAuthorizer(res, cfg.Now)}
	r.cur.Store(&cfg)
	if cfg.DKIMKeyFile != "" {
		s, err := loadDKIMSigner(cfg.DKIMDomain, cfg.DKIMSelector, cfg.DKIMKeyFile)
		if err != nil {
			return nil, err
		}
		r.signer.Store(s)
	}
	err := db.Commit(context.Background(), func(tx *bbolt.Tx) error {
		for _, b := range aggBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reporting: creating buckets: %w", err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		r.openFrom.Store(fromBE64(tx.Bucket(metaBucket).Get(openFromKey)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reporting: loading state: %w", err)
	}
	return r, nil
}

func (r *Reporter) now() time.Time { return r.config().Now() }

// OnPermanentFailure is the queue's hook (queue.Config.OnPermanentFailure)
// for a recipient that will not get a message. For reports: a hard bounce
// (5xx) suppresses the address for SuppressFor; a give-up after DropAfter
// drops the report with a log line. Other kinds of mail are ignored.
func (r *Reporter) OnPermanentFailure(m *queue.Message, rcpt string, err error) {
	if m == nil || m.Kind != queue.KindReport {
		return
	}
	reportsFailed.Inc()
	id := m.Meta[metaReportID]
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 {
		r.log.Warn("aggregate report bounced; suppressing the address", "report_id", id, "rcpt", rcpt,
			"until", r.now().Add(r.config().SuppressFor).UTC().Format(time.RFC3339), "err", err)
		if serr := r.Suppress(context.Background(), rcpt); serr != nil {
			r.log.Error("reporting: suppressing address failed", "rcpt", rcpt, "err", serr)
		}
		return
	}
	r.log.Warn("aggregate report dropped: not delivered in time", "report_id", id, "rcpt", rcpt,
		"drop_after", r.config().DropAfter, "err", err)
}

// Suppress puts addr on the suppression list until SuppressFor from now.
func (r *Reporter) Suppress(ctx context.Context, addr string) error {
	key := []byte(strings.ToLower(addr))
	until := r.now().Add(r.config().SuppressFor).Unix()
	return r.db.Commit(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(suppressBucket).Put(key, be64(until))
	})
}

// suppressed reports whether addr is on the suppression list at now.
func suppressed(tx *bbolt.Tx, addr string, now time.Time) bool {
	v := tx.Bucket(suppressBucket).Get([]byte(strings.ToLower(addr)))
	return v != nil && fromBE64(v) > now.Unix()
}
