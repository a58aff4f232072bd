package resolver

import (
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	dnsQueriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_dns_queries_total",
		Help: "Upstream DNS lookups by record type and outcome (success, nxdomain, nodata, temporary, permanent).",
	}, []string{"type", "outcome"})

	dnsCacheTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "dmarcgate_dns_cache_total",
		Help: "DNS cache lookups by result (hit or miss).",
	}, []string{"result"})
	// Every message asks several cached questions: the label lookup is done once.
	dnsCacheHits   = dnsCacheTotal.WithLabelValues("hit")
	dnsCacheMisses = dnsCacheTotal.WithLabelValues("miss")

	dnsQueryDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "dmarcgate_dns_query_duration_seconds",
		Help:    "Time taken by upstream DNS lookups, retries included.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
)

// typeLabel keeps the type label to a small fixed set.
func typeLabel(qtype uint16) string {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX, dns.TypePTR,
		dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypeTLSA:
		return dns.TypeToString[qtype]
	default:
		return "other"
	}
}

// The series of the types the gateway asks for exist at zero from the start.
func init() {
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX, dns.TypePTR} {
		for o := outcomeSuccess; o <= outcomePermanent; o++ {
			dnsQueriesTotal.WithLabelValues(typeLabel(t), o.String()).Add(0)
		}
	}
}
