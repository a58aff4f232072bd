package reporting

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/internal/ipkey"
)

// failureLimits are the rate limits of failure reports (RFC 9991 §2 asks
// for pruning, §5.1 allows rate limiting per recipient). The counters live
// in bbolt and are charged in the commit of the message that caused the
// report: bbolt serialises writers, so a burst of concurrent messages is
// counted exactly, and the limits survive a restart. Only admitted reports
// write counters, so the bucket holds at most about perHour entries per
// hour of perSource.
type failureLimits struct {
	perSource  time.Duration // one report per reported domain per source IP per this
	perDestDay int           // reports to one address per UTC day
	perHour    int           // reports per clock hour, all destinations
	v6Prefix   int           // an IPv6 source counts by this prefix (ipkey)
}

// Key prefixes in failureLimitBucket.
const (
	limitSource = "s\x00" // + domain \x00 ip -> unix nanoseconds of the last report
	limitDest   = "d\x00" // + day \x00 address -> count
	limitHour   = "h\x00" // + hour -> count
)

// limitVerdict is the outcome of admit.
type limitVerdict struct {
	Admitted []string // destinations that may receive the report
	Limited  string   // when none: which limit held ("source", "hour", "destination")
}

// sourceLimited reports, without charging anything, whether the
// per-source limit would refuse a report now.
func (l failureLimits) sourceLimited(tx *bbolt.Tx, now time.Time, domain, ip string) bool {
	b := tx.Bucket(failureLimitBucket)
	if b == nil {
		return false
	}
	last, ok := getCounter(b, l.sourceKey(domain, ip))
	return ok && now.UTC().Sub(time.Unix(0, int64(last))) < l.perSource
}

func (l failureLimits) sourceKey(domain, ip string) []byte {
	return []byte(limitSource + strings.ToLower(domain) + "\x00" + ipkey.Key(ip, l.v6Prefix))
}

// admit decides which of dests may get a report about a message from ip
// for domain at now, and charges the counters in tx for those.
func (l failureLimits) admit(tx *bbolt.Tx, now time.Time, domain, ip string, dests []string) (limitVerdict, error) {
	b, err := tx.CreateBucketIfNotExists(failureLimitBucket)
	if err != nil {
		return limitVerdict{}, err
	}
	now = now.UTC()
	srcKey := l.sourceKey(domain, ip)
	if last, ok := getCounter(b, srcKey); ok && now.Sub(time.Unix(0, int64(last))) < l.perSource {
		return limitVerdict{Limited: "source"}, nil
	}
	hourKey := []byte(limitHour + now.Format("2006010215"))
	hourCount, _ := getCounter(b, hourKey)
	if int(hourCount) >= l.perHour {
		return limitVerdict{Limited: "hour"}, nil
	}
	day := now.Format("20060102")
	var v limitVerdict
	for _, d := range dests {
		k := []byte(limitDest + day + "\x00" + strings.ToLower(d))
		n, _ := getCounter(b, k)
		if int(n) >= l.perDestDay {
			continue
		}
		if err := putCounter(b, k, n+1); err != nil {
			return limitVerdict{}, err
		}
		v.Admitted = append(v.Admitted, d)
	}
	if len(v.Admitted) == 0 {
		return limitVerdict{Limited: "destination"}, nil
	}
	if err := putCounter(b, srcKey, uint64(now.UnixNano())); err != nil {
		return limitVerdict{}, err
	}
	return v, putCounter(b, hourKey, hourCount+1)
}

// prune deletes counters that no longer limit anything at now.
func (l failureLimits) prune(tx *bbolt.Tx, now time.Time) error {
	b := tx.Bucket(failureLimitBucket)
	if b == nil {
		return nil
	}
	now = now.UTC()
	day, hour := []byte(now.Format("20060102")), []byte(now.Format("2006010215"))
	var stale [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		if len(k) < 2 {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		rest := k[2:]
		switch string(k[:2]) {
		case limitSource:
			if last, ok := getCounter(b, k); !ok || now.Sub(time.Unix(0, int64(last))) >= l.perSource {
				stale = append(stale, bytes.Clone(k))
			}
		case limitDest:
			if !bytes.HasPrefix(rest, day) {
				stale = append(stale, bytes.Clone(k))
			}
		default:
			if !bytes.Equal(rest, hour) {
				stale = append(stale, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func getCounter(b *bbolt.Bucket, k []byte) (uint64, bool) {
	v := b.Get(k)
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

func putCounter(b *bbolt.Bucket, k []byte, n uint64) error {
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, n)
	return b.Put(k, v)
}
