package policy

import (
	"strconv"
	"strings"
)

// ARCSet is what one set of a validated ARC chain records (RFC 8617
// §4.1): who sealed it and the results its ARC-Authentication-Results
// holds. auth/arc gathers it; whether to believe it is decided here.
type ARCSet struct {
	Instance int
	Sealer   string // ARC-Seal d=
	Selector string // ARC-Seal s=
	// ClientIP is the address the sealer received the message from, as
	// its AAR records it (smtp.remote-ip or smtp.client-ip); may be empty.
	ClientIP string
	// Intact: the set's ARC-Message-Signature still validates, so the
	// message has not changed since this sealer saw it (RFC 8617 §5.2
	// oldest-pass).
	Intact  bool
	Results []ARCResult
}

// ARCResult is one method result an AAR records, with the identity it
// is about: header.from for dmarc, the smtp.mailfrom domain for spf,
// header.d for dkim.
type ARCResult struct {
	Method, Result, Domain string
}

// trustedARC returns the newest set of a validated chain that a trusted
// sealer sealed, that still covers the message as it is, and that records
// a DMARC pass for the From domain or an aligned SPF or DKIM pass
// (RFC 8617 §7.2.1: local policy may accept such evidence); nil if none.
func trustedARC(in Input, al *aligner, rec *Record) *ARCSet {
	for i := len(in.ARC) - 1; i >= 0; i-- {
		s := &in.ARC[i]
		if !s.Intact || !trustedSealer(in.TrustedSealers, s.Sealer) {
			continue
		}
		if recordsPass(s, al, rec) {
			return s
		}
	}
	return nil
}

func trustedSealer(list []string, d string) bool {
	d = strings.TrimSuffix(d, ".")
	for _, t := range list {
		if strings.EqualFold(strings.TrimSuffix(t, "."), d) {
			return true
		}
	}
	return false
}

// recordsPass: the set records dmarc=pass for the From domain, or an SPF
// or DKIM pass aligned with it under the record's modes. A recorded
// failure of DMARC for the From domain outweighs the rest.
func recordsPass(s *ARCSet, al *aligner, rec *Record) bool {
	pass := false
	for _, r := range s.Results {
		res := strings.ToLower(r.Result)
		switch strings.ToLower(r.Method) {
		case "dmarc":
			if !strings.EqualFold(strings.TrimSuffix(r.Domain, "."), al.from) {
				continue
			}
			if res != string(Pass) {
				return false
			}
			pass = true
		case "spf":
			pass = pass || res == string(Pass) && al.aligned(r.Domain, rec.ASPF)
		case "dkim":
			pass = pass || res == string(Pass) && al.aligned(r.Domain, rec.ADKIM)
		}
	}
	return pass
}

// arcComment is the report comment of a trusted_forwarder reason: the
// sealer's d= and s=, its instance and the client IP it saw (RFC 8617
// §7.2.2).
func arcComment(s *ARCSet) string {
	i := strconv.Itoa(s.Instance)
	c := "arc=pass as[" + i + "].d=" + s.Sealer + " as[" + i + "].s=" + s.Selector
	if s.ClientIP != "" {
		c += " remote-ip[" + i + "]=" + s.ClientIP
	}
	return c
}
