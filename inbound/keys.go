package inbound

import (
	"bytes"
	"encoding/binary"
)

// The store's buckets, under one of its own in the state database.
var (
	rootBucket     = []byte("inbound_reports")
	reportsBucket  = []byte("aggregate") // domain 0 day(4) reporter 0 report_id -> report
	seenBucket     = []byte("seen")      // reporter 0 report_id -> report key (dedup)
	domainsBucket  = []byte("domains")   // domain -> "" (the domains with data)
	failuresBucket = []byte("failure")   // domain 0 unix(8) digest(8) -> sample (JSON)
	pendingBucket  = []byte("pending")   // queue ID -> "" (mail awaiting intake)
	outboxBucket   = []byte("outbox")    // sequence -> report mail to share with a cluster
)

// reportKey orders reports by domain, then day, so that "domain, day
// range" is one cursor walk over exactly the reports it needs.
func reportKey(domain string, day uint32, reporter, reportID string) []byte {
	k := make([]byte, 0, len(domain)+len(reporter)+len(reportID)+6)
	k = append(append(k, domain...), 0)
	k = binary.BigEndian.AppendUint32(k, day)
	k = append(append(k, reporter...), 0)
	return append(k, reportID...)
}

// dayPrefix is the first possible key of domain's day.
func dayPrefix(domain string, day uint32) []byte {
	k := append([]byte(domain), 0)
	return binary.BigEndian.AppendUint32(k, day)
}

// splitReportKey returns a key's day and its reporter 0 report_id tail.
func splitReportKey(k []byte, domain string) (day uint32, tail []byte, ok bool) {
	if len(k) < len(domain)+5 || !bytes.HasPrefix(k, []byte(domain)) || k[len(domain)] != 0 {
		return 0, nil, false
	}
	rest := k[len(domain)+1:]
	return binary.BigEndian.Uint32(rest), rest[4:], true
}

func seenKey(reporter, reportID string) []byte {
	return append(append([]byte(reporter), 0), reportID...)
}
