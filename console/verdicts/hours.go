package verdicts

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"go.etcd.io/bbolt"
)

// Counts is how many messages had each outcome.
type Counts map[string]int64

// Total is the sum over outcomes.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Hour is the counts of one hour (Start is its first second, UTC).
type Hour struct {
	Start  time.Time
	Counts Counts
}

// countHours adds a batch to the counts of the hours its verdicts fall in
// and drops the hours older than hoursKept.
func countHours(tx *bbolt.Tx, batch []*Record) error {
	b, err := tx.CreateBucketIfNotExists(hoursBucket)
	if err != nil {
		return err
	}
	add := map[int64]Counts{}
	for _, rec := range batch {
		h := rec.Time.Unix() / 3600 * 3600
		if add[h] == nil {
			add[h] = Counts{}
		}
		add[h][rec.Outcome]++
	}
	for h, c := range add {
		key := be64(uint64(h))
		old := Counts{}
		if v := b.Get(key); v != nil {
			_ = json.Unmarshal(v, &old) // a damaged hour starts again from zero
		}
		for k, n := range c {
			old[k] += n
		}
		v, _ := json.Marshal(old)
		if err := b.Put(key, v); err != nil {
			return err
		}
	}
	cutoff := time.Now().Add(-hoursKept).Unix()
	return deleteBelow(b, be64(uint64(max(cutoff, 0))))
}

// Hours returns the counts of every hour from since (rounded down to its
// hour) to now, oldest first; hours without mail have empty counts.
func (r *Ring) Hours(since, now time.Time) ([]Hour, error) {
	first := since.Unix() / 3600 * 3600
	last := now.Unix() / 3600 * 3600
	if last < first {
		return nil, nil
	}
	out := make([]Hour, 0, (last-first)/3600+1)
	for h := first; h <= last; h += 3600 {
		out = append(out, Hour{Start: time.Unix(h, 0).UTC(), Counts: Counts{}})
	}
	err := r.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(hoursBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(be64(uint64(max(first, 0)))); k != nil; k, v = c.Next() {
			h := int64(binary.BigEndian.Uint64(k))
			if h > last {
				break
			}
			_ = json.Unmarshal(v, &out[(h-first)/3600].Counts)
		}
		return nil
	})
	return out, err
}

// Sum adds the counts of hours starting at or after since.
func Sum(hours []Hour, since time.Time) Counts {
	total := Counts{}
	for _, h := range hours {
		if h.Start.Add(time.Hour).After(since) {
			for k, n := range h.Counts {
				total[k] += n
			}
		}
	}
	return total
}
