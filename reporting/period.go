package reporting

import (
	"encoding/binary"
	"time"
)

// Periods are identified by their start in Unix seconds. Boundaries are
// multiples of the interval since the epoch, so 24h periods start at
// midnight UTC (RFC 9990 §2.1: date_range is in UTC). A "reports send"
// closes the open period early: the next one then starts at that moment
// (openFrom) and ends at the next boundary.

// alignedStart is the boundary at or before t.
func alignedStart(t time.Time, interval time.Duration) int64 {
	sec := int64(interval / time.Second)
	u := t.Unix()
	start := u - u%sec
	if u < 0 && u%sec != 0 {
		start -= sec
	}
	return start
}

// alignedEnd is the first boundary after the period that starts at begin.
func alignedEnd(begin int64, interval time.Duration) int64 {
	sec := int64(interval / time.Second)
	start := begin - begin%sec
	if begin < 0 && begin%sec != 0 {
		start -= sec
	}
	return start + sec
}

// openPeriod is the start of the period that mail recorded at now goes to.
func openPeriod(now time.Time, interval time.Duration, openFrom int64) int64 {
	return max(alignedStart(now, interval), openFrom)
}

// periodEnd is the last second (inclusive, as in RFC 9990's example) of a
// period that started at begin and was closed at cut (0: not closed early).
func periodEnd(begin, cut int64, interval time.Duration) int64 {
	end := alignedEnd(begin, interval)
	if cut > begin && cut < end {
		end = cut
	}
	return end - 1
}

// dayOf is the UTC day number of t, for the daily caps.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

func be64(v int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return b[:]
}

func fromBE64(b []byte) int64 {
	if len(b) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}
