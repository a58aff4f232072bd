package auth

import (
	"context"
	"net"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"dmarcgate/policy"
	"dmarcgate/resolver/resolvertest"
)

func counterValue(t *testing.T, method, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := authResults.WithLabelValues(method, result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestMetrics(t *testing.T) {
	c, _ := newTestChecker(t, resolvertest.Zone{".": {txtRR("a.example", "v=spf1 -all")}})
	before := counterValue(t, "spf", "fail")
	c.SPF(context.Background(), net.ParseIP("192.0.2.1"), "h.example", "x@a.example")
	if got := counterValue(t, "spf", "fail") - before; got != 1 {
		t.Errorf("spf fail counted %v times, want 1", got)
	}

	before = counterValue(t, "dmarc", "none")
	ObserveDMARC(policy.Decision{})
	if got := counterValue(t, "dmarc", "none") - before; got != 1 {
		t.Errorf("empty DMARC result counted %v times as none, want 1", got)
	}

	before = counterValue(t, "dkim", "other")
	countResult("dkim", "bogus\r\n")
	if got := counterValue(t, "dkim", "other") - before; got != 1 {
		t.Errorf("unknown result counted %v times as other, want 1", got)
	}
}
