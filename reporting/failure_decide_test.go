package reporting

import (
	"net"
	"testing"
	"time"

	"dmarcgate/policy"
)

// Evaluations used across the failure tests.
var (
	bothFail = policy.Decision{Result: policy.Fail, PolicyInForce: policy.ActionReject, Disposition: policy.ActionReject}
	spfOnly  = policy.Decision{Result: policy.Pass, SPFAligned: true, Disposition: policy.ActionNone}
	dkimOnly = policy.Decision{Result: policy.Pass, DKIMAligned: true, Disposition: policy.ActionNone}
	bothPass = policy.Decision{Result: policy.Pass, SPFAligned: true, DKIMAligned: true, Disposition: policy.ActionNone}

	spfPass = policy.SPFResult{Domain: "a.example", Scope: "mfrom", Result: policy.Pass}
	spfFail = policy.SPFResult{Domain: "a.example", Scope: "mfrom", Result: policy.Fail}
	spfSoft = policy.SPFResult{Domain: "a.example", Scope: "mfrom", Result: policy.SoftFail}

	dkimGood = []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Pass}}
	dkimBad  = []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.Fail, Reason: "signature did not verify"}}
	dkimBody = []policy.DKIMResult{{Domain: "other.example", Selector: "s2", Result: policy.Fail, Reason: "body hash did not verify"}}
	dkimTemp = []policy.DKIMResult{{Domain: "a.example", Selector: "s1", Result: policy.TempError}}
)

func recordFO(fo ...string) *policy.Record {
	r, err := policy.ParseRecord("v=DMARC1; p=reject; ruf=mailto:ruf@a.example")
	if err != nil {
		panic(err)
	}
	if len(fo) > 0 {
		r.FO = fo
	}
	return r
}

// TestDueByFO follows RFC 9989 §4.7 "fo" for each option.
func TestDueByFO(t *testing.T) {
	tests := []struct {
		name   string
		fo     []string
		d      policy.Decision
		spf    policy.SPFResult
		dkim   []policy.DKIMResult
		due    bool
		kind   string
		option string
	}{
		{"fo=0 both fail", nil, bothFail, spfFail, dkimBad, true, "dmarc", "0"},
		{"fo=0 spf aligned pass", nil, spfOnly, spfPass, dkimBad, false, "", ""},
		{"fo=0 dkim aligned pass", nil, dkimOnly, spfFail, dkimGood, false, "", ""},
		{"fo=0 both pass", []string{"0"}, bothPass, spfPass, dkimGood, false, "", ""},
		{"fo=1 both fail", []string{"1"}, bothFail, spfFail, dkimBad, true, "dmarc", "1"},
		// DMARC passed: Auth-Failure names the mechanism, never dmarc.
		{"fo=1 only spf aligned, no signature", []string{"1"}, spfOnly, spfPass, nil, true, "signature", "1"},
		{"fo=1 only spf aligned, signature failed", []string{"1"}, spfOnly, spfPass, dkimBad, true, "signature", "1"},
		{"fo=1 only spf aligned, body hash", []string{"1"}, spfOnly, spfPass, dkimBody, true, "bodyhash", "1"},
		{"fo=1 only dkim aligned, spf softfail", []string{"1"}, dkimOnly, spfSoft, dkimGood, true, "spf", "1"},
		{"fo=1 only dkim aligned, spf pass unaligned", []string{"1"}, dkimOnly, spfPass, dkimGood, true, "spf", "1"},
		{"fo=1 dkim aligned, another signature failed", []string{"1"}, dkimOnly, spfPass, append(dkimGood, dkimBody...), true, "spf", "1"},
		{"fo=1 both pass", []string{"1"}, bothPass, spfPass, dkimGood, false, "", ""},
		{"fo=d signature failed, dmarc pass", []string{"d"}, spfOnly, spfPass, dkimBad, true, "signature", "d"},
		{"fo=d body hash, unaligned", []string{"d"}, spfOnly, spfPass, dkimBody, true, "bodyhash", "d"},
		{"fo=d no signature", []string{"d"}, bothFail, spfFail, nil, false, "", ""},
		{"fo=d temperror is no failure", []string{"d"}, bothFail, spfFail, dkimTemp, false, "", ""},
		{"fo=d signatures pass", []string{"d"}, dkimOnly, spfFail, dkimGood, false, "", ""},
		{"fo=s spf fail, dmarc pass", []string{"s"}, dkimOnly, spfFail, dkimGood, true, "spf", "s"},
		{"fo=s softfail", []string{"s"}, bothFail, spfSoft, nil, false, "", ""},
		{"fo=s spf pass", []string{"s"}, bothFail, spfPass, dkimBad, false, "", ""},
		{"fo=d:s dkim first", []string{"d", "s"}, bothFail, spfFail, dkimBad, true, "signature", "d"},
		{"fo=0:s dmarc wins", []string{"0", "s"}, bothFail, spfFail, nil, true, "dmarc", "0"},
		{"fo=0:s spf alone", []string{"0", "s"}, dkimOnly, spfFail, dkimGood, true, "spf", "s"},
		{"fo=1 temperror result", []string{"1"}, policy.Decision{Result: policy.TempError}, spfFail, nil, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, due := dueByFO(recordFO(tt.fo...), tt.d, tt.spf, tt.dkim)
			if due != tt.due || tr.AuthFailure != tt.kind || tr.Option != tt.option {
				t.Fatalf("dueByFO = %+v, %v; want %s/%s, %v", tr, due, tt.kind, tt.option, tt.due)
			}
		})
	}
}

func TestIdentityAlignment(t *testing.T) {
	tests := []struct {
		d    policy.Decision
		want string
	}{
		{bothFail, "dkim,spf"},
		{spfOnly, "dkim"},
		{dkimOnly, "spf"},
		{bothPass, "none"},
	}
	for _, tt := range tests {
		if got := identityAlignment(tt.d); got != tt.want {
			t.Errorf("identityAlignment(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestAlignsWithFrom(t *testing.T) {
	tests := []struct {
		domain, from, org string
		mode              policy.Alignment
		want              bool
	}{
		{"a.example", "a.example", "a.example", policy.Strict, true},
		{"mail.a.example", "a.example", "a.example", policy.Relaxed, true},
		{"mail.a.example", "a.example", "a.example", policy.Strict, false},
		{"a.example", "news.a.example", "a.example", policy.Relaxed, true},
		{"xa.example", "a.example", "a.example", policy.Relaxed, false},
		{"b.example", "a.example", "a.example", policy.Relaxed, false},
		{"", "a.example", "a.example", policy.Relaxed, false},
		{"A.EXAMPLE.", "a.example", "a.example", policy.Strict, true},
	}
	for _, tt := range tests {
		if got := alignsWithFrom(tt.domain, tt.from, tt.org, tt.mode); got != tt.want {
			t.Errorf("alignsWithFrom(%q, %q, %q, %s) = %v", tt.domain, tt.from, tt.org, tt.mode, got)
		}
	}
}

func TestExclusion(t *testing.T) {
	const ours = "dmarc-reports@ours.example"
	base := func() *Event {
		return &Event{
			Time: time.Unix(1700000000, 0), SourceIP: net.ParseIP("192.0.2.1"),
			EnvelopeFrom: "user@a.example", EnvelopeTo: []string{"rcpt@ours.example"},
			Header: []byte("From: User <user@a.example>\r\nSubject: hello\r\n"),
		}
	}
	tests := []struct {
		name   string
		change func(*Event)
		want   string
	}{
		{"ordinary", func(*Event) {}, ""},
		{"bounce", func(e *Event) { e.EnvelopeFrom = "" }, "bounce"},
		{"failure report", func(e *Event) {
			e.Header = []byte("From: x@a.example\r\nContent-Type: multipart/report;\r\n report-type=feedback-report; boundary=x\r\n")
		}, "report"},
		{"delivery report", func(e *Event) { e.Header = []byte("Content-Type: Multipart/Report; report-type=delivery-status\r\n") }, "report"},
		{"aggregate report", func(e *Event) {
			e.Header = []byte("Subject: Report Domain: a.example Submitter: b.example Report-ID: <1>\r\n")
		}, "report"},
		{"to our address", func(e *Event) { e.EnvelopeTo = []string{"x@ours.example", "DMARC-Reports@ours.example"} }, "own-address"},
		{"from our address", func(e *Event) { e.EnvelopeFrom = ours }, "own-address"},
		{"header from our address", func(e *Event) { e.Header = []byte("From: \"Us\" <dmarc-reports@ours.example>\r\n") }, "own-address"},
		{"unparsable from with our address", func(e *Event) { e.Header = []byte("From: <<dmarc-reports@ours.example\r\n") }, "own-address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := base()
			tt.change(ev)
			if got := exclusion(ev, ours, parseOriginalHeader(ev.Header)); got != tt.want {
				t.Fatalf("exclusion = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestArfDeliveryResult(t *testing.T) {
	tests := map[policy.Action]string{
		policy.ActionNone: "delivered", policy.ActionQuarantine: "spam", policy.ActionReject: "reject", "": "delivered",
	}
	for a, want := range tests {
		if got := arfDeliveryResult(policy.Decision{Disposition: a}); got != want {
			t.Errorf("disposition %q: %q, want %q", a, got, want)
		}
	}
}

func TestReportedSignature(t *testing.T) {
	mixed := []policy.DKIMResult{
		{Domain: "esp.example", Selector: "e1", Result: policy.Fail},
		{Domain: "mail.a.example", Selector: "m1", Result: policy.PermError},
		{Domain: "a.example", Selector: "ok", Result: policy.Pass},
	}
	tests := []struct {
		name string
		t    failureTrigger
		mode policy.Alignment
		want string // selector, "" for none
	}{
		{"dmarc report, relaxed: aligned failure", failureTrigger{"dmarc", "0"}, policy.Relaxed, "m1"},
		{"dmarc report, strict: none aligned", failureTrigger{"dmarc", "0"}, policy.Strict, ""},
		{"dkim report: the failed one", failureTrigger{"signature", "d"}, policy.Strict, "e1"},
	}
	for _, tt := range tests {
		k, ok := reportedSignature(mixed, tt.t, "a.example", "a.example", tt.mode)
		if got := k.Selector; ok != (tt.want != "") || got != tt.want {
			t.Errorf("%s: got %q (%v), want %q", tt.name, got, ok, tt.want)
		}
	}
}
