package reporting

import (
	"bufio"
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"

	"dmarcgate/policy"
)

// Auth-Failure values (RFC 6591 §3.2.1, and "dmarc" from RFC 9991 §4).
const (
	authFailureDMARC     = "dmarc"
	authFailureSignature = "signature"
	authFailureBodyHash  = "bodyhash"
	authFailureSPF       = "spf"
)

// failureTrigger says why a message is worth a failure report: the
// Auth-Failure type and the fo= option that asked for it.
type failureTrigger struct {
	AuthFailure string
	Option      string // "0", "1", "d" or "s"
}

// dueByFO applies the fo= options of the policy record to one evaluation
// (RFC 9989 §4.7 "fo"; RFC 9991 §2). It returns false when no option asks
// for a report. One message gives at most one report: a DMARC-level
// option (0, 1) wins over a mechanism-level one (d, s).
func dueByFO(rec *policy.Record, d policy.Decision, spf policy.SPFResult, dkim []policy.DKIMResult) (failureTrigger, bool) {
	// fo=0: every mechanism failed to produce an aligned pass.
	if rec.FOHas("0") && d.Result == policy.Fail && !d.SPFAligned && !d.DKIMAligned {
		return failureTrigger{authFailureDMARC, "0"}, true
	}
	// fo=1: any mechanism produced something other than an aligned pass.
	if rec.FOHas("1") && (!d.SPFAligned || !d.DKIMAligned) {
		switch d.Result {
		case policy.Fail:
			return failureTrigger{authFailureDMARC, "1"}, true
		case policy.Pass:
			return failureTrigger{mechanismFailure(d, dkim), "1"}, true
		}
	}
	// fo=d: a signature failed evaluation, whatever its alignment.
	if rec.FOHas("d") {
		if k, ok := firstFailedSignature(dkim); ok {
			return failureTrigger{dkimAuthFailure(k), "d"}, true
		}
	}
	// fo=s: SPF evaluation failed, whatever its alignment.
	if rec.FOHas("s") && spf.Result == policy.Fail {
		return failureTrigger{authFailureSPF, "s"}, true
	}
	return failureTrigger{}, false
}

// mechanismFailure names what failed in mail that passed DMARC, for
// Auth-Failure: "dmarc" would be false (RFC 9991 §4), so one of RFC 6591
// §3.2.1's values. A signature that did not verify comes first, then an
// SPF result without alignment; what is left is DKIM without an aligned
// signature (none, or one of another domain), "signature" as the nearest.
func mechanismFailure(d policy.Decision, dkim []policy.DKIMResult) string {
	if k, ok := firstFailedSignature(dkim); ok && !d.DKIMAligned {
		return dkimAuthFailure(k)
	}
	if !d.SPFAligned {
		return authFailureSPF
	}
	return authFailureSignature
}

// signatureFailed: the signature was evaluated and did not verify (a
// temporary error is no verdict, "none" no signature).
func signatureFailed(k policy.DKIMResult) bool {
	return k.Result == policy.Fail || k.Result == policy.PermError
}

func firstFailedSignature(dkim []policy.DKIMResult) (policy.DKIMResult, bool) {
	for _, k := range dkim {
		if signatureFailed(k) {
			return k, true
		}
	}
	return policy.DKIMResult{}, false
}

// dkimAuthFailure distinguishes a body hash mismatch from a bad signature
// (RFC 6591 §3.2.1), as far as the verifier's reason tells.
func dkimAuthFailure(k policy.DKIMResult) string {
	if r := strings.ToLower(k.Reason); strings.Contains(r, "body hash") || strings.Contains(r, "bodyhash") {
		return authFailureBodyHash
	}
	return authFailureSignature
}

// identityAlignment lists the mechanisms that failed to authenticate an
// aligned identity, or "none" (RFC 9991 §4 item 2).
func identityAlignment(d policy.Decision) string {
	var out []string
	if !d.DKIMAligned {
		out = append(out, "dkim")
	}
	if !d.SPFAligned {
		out = append(out, "spf")
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// alignsWithFrom reports relaxed or strict alignment of domain with the From
// domain, given the From domain's organizational domain (RFC 9989 §4.4).
func alignsWithFrom(domain, from, org string, mode policy.Alignment) bool {
	domain, from = strings.TrimSuffix(strings.ToLower(domain), "."), strings.ToLower(from)
	if domain == "" {
		return false
	}
	if domain == from {
		return true
	}
	org = strings.ToLower(org)
	if mode == policy.Strict || org == "" {
		return false
	}
	return domain == org || strings.HasSuffix(domain, "."+org)
}

// arfDeliveryResult maps our disposition to RFC 6591 §3.2 Delivery-Result.
func arfDeliveryResult(d policy.Decision) string {
	switch d.Disposition {
	case policy.ActionReject:
		return "reject"
	case policy.ActionQuarantine:
		return "spam"
	case policy.ActionNone, "":
		return "delivered"
	}
	return "other"
}

// exclusion says why a message must never be reported on, or "".
// Reports about reports, bounces, or mail to or from our own reporting
// address could feed loops between report generators (RFC 9991 §5.1).
func exclusion(ev *Event, ourAddress string, hdr textproto.MIMEHeader) string {
	if ev.EnvelopeFrom == "" {
		return "bounce"
	}
	if looksLikeReport(hdr) {
		return "report"
	}
	if ourAddress == "" {
		return ""
	}
	if sameMailbox(ev.EnvelopeFrom, ourAddress) {
		return "own-address"
	}
	for _, r := range ev.EnvelopeTo {
		if sameMailbox(r, ourAddress) {
			return "own-address"
		}
	}
	if fieldHasAddress(hdr.Values("From"), ourAddress) {
		return "own-address"
	}
	return ""
}

// looksLikeReport recognises failure and delivery reports (multipart/report) and
// aggregate reports (RFC 9990 §5 Subject).
func looksLikeReport(hdr textproto.MIMEHeader) bool {
	for _, ct := range hdr.Values("Content-Type") {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
		}
		if mt == "multipart/report" || mt == "message/feedback-report" {
			return true
		}
	}
	return strings.HasPrefix(strings.TrimSpace(hdr.Get("Subject")), "Report Domain:")
}

func sameMailbox(a, b string) bool {
	return strings.EqualFold(strings.Trim(a, "<> "), strings.Trim(b, "<> "))
}

// fieldHasAddress reports whether an address field mentions addr; a field
// that does not parse is searched as text, so odd syntax cannot hide it.
func fieldHasAddress(values []string, addr string) bool {
	for _, v := range values {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			if strings.Contains(strings.ToLower(v), strings.ToLower(addr)) {
				return true
			}
			continue
		}
		for _, a := range list {
			if sameMailbox(a.Address, addr) {
				return true
			}
		}
	}
	return false
}

// parseOriginalHeader reads a header block leniently: what parses before an
// error is kept, since the block came from an untrusted client.
func parseOriginalHeader(b []byte) textproto.MIMEHeader {
	if !bytes.HasSuffix(b, []byte("\n\n")) && !bytes.HasSuffix(b, []byte("\r\n\r\n")) {
		b = append(bytes.Clone(b), "\r\n\r\n"...)
	}
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	if h == nil {
		h = textproto.MIMEHeader{}
	}
	return h
}
