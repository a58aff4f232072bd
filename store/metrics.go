package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	commitSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "dmarcgate_spool_fsync_seconds",
		Help:    "Latency of one durable commit (write and fsync) of the state database.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	commitBatchSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "dmarcgate_commit_batch_size",
		Help:    "Number of requests sharing one durable commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
)
