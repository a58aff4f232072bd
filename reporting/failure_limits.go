package reporting

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"dmarcgate/internal/ipkey"
)

// failureLimits are the rate limits of failure reports (RFC 9991 §2 asks
// for pruning, §5.1 allows rate limiting per recipient). The counters live
// in bbolt: bbolt serialises writers, so a burst of concurrent messages is
// counted exactly, and the limits survive a restart.
//
// Two moments charge them. When a message causes a report (admit, in the
// message's commit): the per-source limit, a share of the hour per
// organisational domain, and a bound on what may wait in the pending
// store. When a report is queued to an address that passed the
// destination checks (charge, in the queueing commit): the hourly budget
// and the per-address daily cap. So a report that goes nowhere (an
// unauthorised external address) spends no budget, and many domains of
// one organisation cannot take it all.
type failureLimits struct {
	perSource  time.Duration // one report per reported domain per source IP per this
	perDestDay int           // reports to one address per UTC day
	perHour    int           // reports queued per clock hour, all destinations
	v6Prefix   int           // an IPv6 source counts by this prefix (ipkey)
}

// Key prefixes in failureLimitBucket.
const (
	limitSource   = "s\x00" // + domain \x00 ip -> unix nanoseconds of the last report
	limitDest     = "d\x00" // + day \x00 address -> count
	limitHour     = "h\x00" // + hour -> reports queued
	limitOrg      = "o\x00" // + hour \x00 org domain -> reports admitted
	limitRecorded = "r\x00" // + hour -> reports admitted, all domains
)

// orgShareDivisor: one organisational domain may cause at most this
// fraction of the hourly budget's reports (at least one).
const orgShareDivisor = 10

// recordedFactor bounds the reports admitted to the pending store per hour
// at this many times the hourly budget.
const recordedFactor = 4

func (l failureLimits) orgShare() uint64 { return uint64(max(1, l.perHour/orgShareDivisor)) }

// limitVerdict is the outcome of admit.
type limitVerdict struct {
	Admitted []string // destinations that may receive the report
	Limited  string   // when none: which limit held ("source", "org", "hour")
}

// errFailureLimited: the hourly budget or the address's daily cap is spent.
var errFailureLimited = errors.New("failure report rate limit reached")

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

// admit decides whether a report about a message from ip for domain (of
// organisational domain org) may wait for its destinations' checks, and
// charges the counters of that moment in tx.
func (l failureLimits) admit(tx *bbolt.Tx, now time.Time, domain, org, ip string, dests []string) (limitVerdict, error) {
	b, err := tx.CreateBucketIfNotExists(failureLimitBucket)
	if err != nil {
		return limitVerdict{}, err
	}
	now = now.UTC()
	hour := now.Format("2006010215")
	srcKey := l.sourceKey(domain, ip)
	if last, ok := getCounter(b, srcKey); ok && now.Sub(time.Unix(0, int64(last))) < l.perSource {
		return limitVerdict{Limited: "source"}, nil
	}
	orgKey := []byte(limitOrg + hour + "\x00" + strings.ToLower(cmp.Or(org, domain)))
	orgCount, _ := getCounter(b, orgKey)
	if orgCount >= l.orgShare() {
		return limitVerdict{Limited: "org"}, nil
	}
	recKey := []byte(limitRecorded + hour)
	recorded, _ := getCounter(b, recKey)
	if recorded >= uint64(recordedFactor*l.perHour) {
		return limitVerdict{Limited: "hour"}, nil
	}
	for k, v := range map[string]uint64{string(srcKey): uint64(now.UnixNano()), string(orgKey): orgCount + 1, string(recKey): recorded + 1} {
		if err := putCounter(b, []byte(k), v); err != nil {
			return limitVerdict{}, err
		}
	}
	return limitVerdict{Admitted: dests}, nil
}

// charge takes one report to dest out of the hourly budget and dest's
// daily cap, in the commit that queues it; errFailureLimited when either
// is spent.
func (l failureLimits) charge(tx *bbolt.Tx, now time.Time, dest string) error {
	b, err := tx.CreateBucketIfNotExists(failureLimitBucket)
	if err != nil {
		return err
	}
	now = now.UTC()
	hourKey := []byte(limitHour + now.Format("2006010215"))
	destKey := []byte(limitDest + now.Format("20060102") + "\x00" + strings.ToLower(dest))
	hourCount, _ := getCounter(b, hourKey)
	destCount, _ := getCounter(b, destKey)
	if int(hourCount) >= l.perHour || int(destCount) >= l.perDestDay {
		return errFailureLimited
	}
	if err := putCounter(b, hourKey, hourCount+1); err != nil {
		return err
	}
	return putCounter(b, destKey, destCount+1)
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
		case limitOrg:
			if !bytes.HasPrefix(rest, hour) {
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
