package reporting

import (
	"testing"
	"time"
)

// The per-source limit counts an IPv6 source by its prefix (/64 by
// default): another address of the same /64 is the same source.
func TestLimitPerSourceIPv6Prefix(t *testing.T) {
	db := openTestDB(t)
	l := failureLimits{perSource: time.Hour, perDestDay: 100, perHour: 100, v6Prefix: 64}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if v := admitOnce(t, db, l, t0, "a.example", "2001:db8::1", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("first report not admitted: %+v", v)
	}
	if v := admitOnce(t, db, l, t0.Add(time.Minute), "a.example", "2001:db8::beef", "r@a.example"); v.Limited != "source" {
		t.Fatalf("same /64 within the hour: %+v, want limited by source", v)
	}
	if v := admitOnce(t, db, l, t0.Add(time.Minute), "a.example", "2001:db8:0:1::1", "r@a.example"); len(v.Admitted) != 1 {
		t.Fatalf("another /64 limited: %+v", v)
	}
}
