package reporting

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"
)

// Buckets owned by failure reporting.
var (
	// failurePendingBucket: reports decided at end of DATA, not yet queued.
	failurePendingBucket = []byte("failure.pending")
	// failureLimitBucket: the rate-limit counters (failure_limits.go).
	failureLimitBucket = []byte("failure.limits")
)

// pendingFailure is a failure report decided at end of DATA and stored in
// that message's commit; the sender renders and queues it later, once per
// destination. It holds only what the report shows.
type pendingFailure struct {
	Created           time.Time
	Arrival           time.Time
	SourceIP          string
	SourcePort        int `json:",omitempty"` // RFC 6692
	EnvelopeFrom      string
	EnvelopeTo        []string
	HeaderFrom        string // RFC5322.From domain (Reported-Domain)
	PolicyDomain      string
	OrgDomain         string
	AuthFailure       string
	Option            string // the fo= option that asked for the report
	IdentityAlignment string
	AuthResults       string // our Authentication-Results value, without the field name
	DMARCResult       string
	PolicyInForce     string
	Disposition       string
	DeliveryResult    string
	DKIMDomain        string // a failed signature of an aligned domain
	DKIMSelector      string
	SPFDomain         string // set when SPF failed for an aligned domain: SPF-DNS is looked up at send time
	SPFDNS            string `json:"-"` // filled at send time
	QueueID           string
	Header            []byte
	Body              []byte `json:",omitempty"` // only with include_body
	// Dest are the ruf= mailto addresses the rate limits admitted; Done
	// those already queued or given up (unauthorized, suppressed).
	Dest []string
	Done []string `json:",omitempty"`
	// Charged: destinations that hold a charge of a cluster's limits
	// (FailureConfig.Shared): queued, or about to be. One given up is
	// given back and leaves the list.
	Charged []string `json:",omitempty"`
	// Shared: an older version charged a cluster's limits for every
	// destination at once.
	Shared bool `json:",omitempty"`
}

// remaining lists the destinations not yet handled.
func (p *pendingFailure) remaining() []string {
	var out []string
	for _, d := range p.Dest {
		if !slices.Contains(p.Done, d) {
			out = append(out, d)
		}
	}
	return out
}

func putPending(tx *bbolt.Tx, p *pendingFailure) error {
	b, err := tx.CreateBucketIfNotExists(failurePendingBucket)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return b.Put(pendingKey(seq), v)
}

func pendingKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

func getPending(tx *bbolt.Tx, key []byte) (*pendingFailure, error) {
	b := tx.Bucket(failurePendingBucket)
	if b == nil {
		return nil, errPendingGone
	}
	v := b.Get(key)
	if v == nil {
		return nil, errPendingGone
	}
	p := &pendingFailure{}
	if err := json.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("reporting: corrupt pending failure report: %w", err)
	}
	return p, nil
}

// errPendingGone: the pending report was handled meanwhile (by another
// sender run), so it must not be queued again.
var errPendingGone = fmt.Errorf("reporting: pending failure report already handled")

// markDone records dest as handled, in tx; the entry goes once every
// destination is. It fails with errPendingGone when dest was already
// handled, so that the queue entry sharing tx is not committed twice.
func markDone(tx *bbolt.Tx, key []byte, dest string) error {
	return markHandled(tx, key, dest, false)
}

// markHandled is markDone; uncharged also takes dest out of Charged (its
// shared charge is given back).
func markHandled(tx *bbolt.Tx, key []byte, dest string, uncharged bool) error {
	p, err := getPending(tx, key)
	if err != nil {
		return err
	}
	if slices.Contains(p.Done, dest) {
		return errPendingGone
	}
	p.Done = append(p.Done, dest)
	if uncharged {
		p.Charged = slices.DeleteFunc(p.Charged, func(d string) bool { return d == dest })
	}
	if len(p.remaining()) == 0 {
		return tx.Bucket(failurePendingBucket).Delete(key)
	}
	return updatePending(tx, key, p)
}

// updatePending stores p again under key.
func updatePending(tx *bbolt.Tx, key []byte, p *pendingFailure) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.Bucket(failurePendingBucket).Put(key, v)
}

// dropPending removes an entry outright (too old, or unreadable).
func dropPending(tx *bbolt.Tx, key []byte) error {
	if b := tx.Bucket(failurePendingBucket); b != nil {
		return b.Delete(key)
	}
	return nil
}

// pendingKeys lists the stored entries, oldest first, at most limit.
func pendingKeys(tx *bbolt.Tx, limit int) [][]byte {
	b := tx.Bucket(failurePendingBucket)
	if b == nil {
		return nil
	}
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		out = append(out, slices.Clone(k))
	}
	return out
}
