package reporting

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// What the tests of package reporting_test (which may import package
// cluster, as this package's own tests cannot) need of the test env.

// FailureTestEnv is failureEnv for package reporting_test.
type FailureTestEnv struct{ e *failureEnv }

// NewFailureTestEnv starts a failure reporter on real parts (bbolt, the
// queue, DNS, an SMTP sink), configured by change.
func NewFailureTestEnv(t *testing.T, change func(*FailureConfig)) *FailureTestEnv {
	return &FailureTestEnv{e: newFailureEnv(t, change)}
}

// Reporter is the env's FailureReporter.
func (x *FailureTestEnv) Reporter() *FailureReporter { return x.e.fr }

// Advance moves the env's clock.
func (x *FailureTestEnv) Advance(d time.Duration) { x.e.clock.Add(d) }

// Now is the env's clock.
func (x *FailureTestEnv) Now() time.Time { return x.e.clock.Now() }

// Fail records a DMARC failure of a message from ip for domain, whose
// record asks for failure reports to ruf; it reports whether one is due.
func (x *FailureTestEnv) Fail(domain, ip, ruf string) bool {
	return x.e.arrive(failingEvent(domain, ip, fmt.Sprintf("v=DMARC1; p=reject; ruf=mailto:%s", ruf), bothFail, spfFail, nil))
}

// Send runs SendPending and delivers what it queued.
func (x *FailureTestEnv) Send() { x.e.sendFailures() }

// Pending counts the reports not yet handled.
func (x *FailureTestEnv) Pending() int { return x.e.pending() }

// Delivered is what the sink received: each report's destination.
func (x *FailureTestEnv) Delivered() []string {
	var out []string
	for _, m := range x.e.sink.Messages() {
		out = append(out, m.To...)
	}
	return out
}

// Outcome is the failure-report counter for outcome.
func Outcome(outcome string) float64 { return counterValue(outcome) }

// Deliver attempts what the queue holds, once.
func (x *FailureTestEnv) Deliver() {
	x.e.t.Helper()
	if err := x.e.q.RunOnce(context.Background()); err != nil {
		x.e.t.Fatal(err)
	}
}
