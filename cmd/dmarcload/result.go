package main

import (
	"slices"
	"time"
)

// summary aggregates one run's outcomes.
type summary struct {
	sent     int
	accepted int // 2xx at the end of DATA
	temp     int // 4xx
	perm     int // 5xx
	failed   int // no reply: connection trouble
	// spoofedAccepted counts spoofed messages answered 2xx, and
	// legitRefused legitimate ones answered 4xx or 5xx.
	spoofedAccepted int
	legitRefused    int
	p50, p99        time.Duration
	wall            time.Duration  // first MAIL to last final reply
	rate            float64        // transactions per second over wall
	errSample       []string       // a few distinct transport errors
	refusals        map[string]int // by reply code and enhanced code
}

// maxErrSample bounds the transport errors kept for the report.
const maxErrSample = 3

func summarize(outcomes []outcome) summary {
	s := summary{sent: len(outcomes), refusals: map[string]int{}}
	var first, last time.Time
	latencies := make([]time.Duration, 0, len(outcomes))
	for _, o := range outcomes {
		s.count(o)
		if o.code == 0 {
			continue
		}
		latencies = append(latencies, o.latency)
		if first.IsZero() || o.start.Before(first) {
			first = o.start
		}
		if o.end.After(last) {
			last = o.end
		}
	}
	slices.Sort(latencies)
	s.p50, s.p99 = percentile(latencies, 50), percentile(latencies, 99)
	if !first.IsZero() {
		s.wall = last.Sub(first)
	}
	if s.wall > 0 {
		s.rate = float64(s.sent) / s.wall.Seconds()
	}
	return s
}

func (s *summary) count(o outcome) {
	switch {
	case o.code == 0:
		s.failed++
		if msg := o.err.Error(); len(s.errSample) < maxErrSample && !slices.Contains(s.errSample, msg) {
			s.errSample = append(s.errSample, msg)
		}
	case o.code < 300:
		s.accepted++
		if o.spoofed {
			s.spoofedAccepted++
		}
	case o.code < 500:
		s.temp++
	default:
		s.perm++
	}
	if o.code >= 300 {
		s.refusals[o.status]++
	}
	if o.code >= 400 && !o.spoofed {
		s.legitRefused++
	}
}

// percentile is the nearest-rank p-th percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}
