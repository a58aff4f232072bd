package reporting

import (
	"testing"
	"time"
)

// max_per_period is counted per period: a period that `reports send`
// closed early is a period of its own, and the next one, in the same UTC
// day, has its whole budget.
func TestPeriodBudgetPerPeriodNotPerDay(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxPerPeriod = 2 })
	for round := 0; round < 2; round++ {
		for _, d := range []string{"a.example", "b.example", "c.example"} {
			e.record(event(t, msg{ip: "192.0.2.1", from: d}))
		}
		e.clock.Add(time.Minute)
		if sum := e.send(true); sum.Generated != 2 {
			t.Fatalf("period %d: %+v, want 2 reports generated (max_per_period = 2)", round, sum)
		}
	}
	if n := e.sink.Count(); n != 4 {
		t.Fatalf("%d reports sent for two periods of one day, want 4", n)
	}
}
