package verdicts

import (
	"encoding/binary"
	"encoding/json"
	"slices"

	"go.etcd.io/bbolt"
)

// Filter selects verdicts; an empty field matches anything.
type Filter struct {
	FromDomain  string // exact, lower-case
	IP          string // exact
	Result      string // DMARC result: pass, fail, none, temperror, permerror
	Disposition string // the outcome (accepted, quarantined, ...) or the action (hold, reject, ...)
}

func (f *Filter) match(r *Record) bool {
	return (f.FromDomain == "" || f.FromDomain == r.FromDomain) &&
		(f.IP == "" || f.IP == r.ClientIP) &&
		(f.Result == "" || f.Result == r.DMARC) &&
		(f.Disposition == "" || f.Disposition == r.Outcome || f.Disposition == r.Action || f.Disposition == r.Disposition)
}

// Recent returns up to limit verdicts that match f, newest first.
func (r *Ring) Recent(f Filter, limit int) ([]Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Record
	err := r.newestFirst(func(k, v []byte) bool {
		var rec Record
		if json.Unmarshal(v, &rec) != nil {
			return true // one damaged entry must not hide the rest
		}
		if f.match(&rec) {
			rec.Seq = binary.BigEndian.Uint64(k)
			out = append(out, rec)
		}
		return len(out) < limit
	})
	return out, err
}

// newestFirst calls fn with each stored verdict, newest first, while fn
// returns true.
func (r *Ring) newestFirst(fn func(k, v []byte) bool) error {
	return r.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(ringBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if !fn(k, v) {
				break
			}
		}
		return nil
	})
}

// Get returns the verdict numbered seq.
func (r *Ring) Get(seq uint64) (*Record, error) {
	var rec Record
	err := r.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(ringBucket)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(be64(seq))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return nil, err
	}
	rec.Seq = seq
	return &rec, nil
}

// Brief is what the Overview's top lists need of a verdict.
type Brief struct {
	ClientIP   string `json:"ip"`
	FromDomain string `json:"fd"`
	DMARC      string `json:"dmarc"`
	Outcome    string `json:"out"`
}

// Briefs returns up to limit of the verdicts stored since Start and
// before it, newest first, from memory.
func (r *Ring) Briefs(limit int) ([]Brief, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(limit, len(r.briefs))
	out := make([]Brief, n)
	for i := range n {
		out[i] = r.briefs[len(r.briefs)-1-i]
	}
	return out, nil
}

// storedBriefs reads up to limit verdicts from the ring, oldest first,
// decoding only the fields of a Brief.
func (r *Ring) storedBriefs(limit int) ([]Brief, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Brief
	err := r.newestFirst(func(_, v []byte) bool {
		var br Brief
		if json.Unmarshal(v, &br) == nil {
			out = append(out, br)
		}
		return len(out) < limit
	})
	slices.Reverse(out)
	return out, err
}
