package policy

import (
	"strings"
	"testing"
)

func arcSet(inst int, sealer string, intact bool, results ...ARCResult) ARCSet {
	return ARCSet{Instance: inst, Sealer: sealer, Selector: "s1", ClientIP: "192.0.2.7", Intact: intact, Results: results}
}

func TestEvaluateTrustedARC(t *testing.T) {
	dmarcPass := ARCResult{"dmarc", "pass", "example.com"}
	trusted := []string{"lists.example.net"}
	fwd := &Override{Action: ActionQuarantine, Reason: "local_policy"}
	tests := []struct {
		name        string
		record      string
		dkimPass    bool
		sets        []ARCSet
		override    *Override
		monitor     bool
		disposition Action
		reasons     []ReasonType
		trusted     bool
	}{
		{"trusted dmarc pass", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, dmarcPass)}, nil, false, ActionNone, []ReasonType{ReasonTrustedForwarder}, true},
		{"sealer name case and dot", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "Lists.Example.NET.", true, dmarcPass)}, nil, false, ActionNone, []ReasonType{ReasonTrustedForwarder}, true},
		{"aligned dkim pass", "v=DMARC1; p=quarantine", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"dkim", "pass", "mail.example.com"})}, nil, false, ActionNone, []ReasonType{ReasonTrustedForwarder}, true},
		{"aligned spf pass", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"spf", "pass", "example.com"})}, nil, false, ActionNone, []ReasonType{ReasonTrustedForwarder}, true},
		{"strict spf not aligned", "v=DMARC1; p=reject; aspf=s", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"spf", "pass", "bounce.example.com"})}, nil, false, ActionReject, nil, false},
		{"unaligned dkim pass", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"dkim", "pass", "example.org"})}, nil, false, ActionReject, nil, false},
		{"untrusted sealer", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "evil.example", true, dmarcPass)}, nil, false, ActionReject, nil, false},
		{"trusted sealer records dmarc fail", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"dmarc", "fail", "example.com"}, ARCResult{"spf", "pass", "example.com"})}, nil, false, ActionReject, nil, false},
		{"dmarc pass for another domain", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, ARCResult{"dmarc", "pass", "other.example"})}, nil, false, ActionReject, nil, false},
		{"changed since the trusted seal", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", false, dmarcPass), arcSet(2, "evil.example", true)}, nil, false, ActionReject, nil, false},
		{"no chain", "v=DMARC1; p=reject", false, nil, nil, false, ActionReject, nil, false},
		{"dmarc pass stays pass", "v=DMARC1; p=reject", true, []ARCSet{arcSet(1, "lists.example.net", true, dmarcPass)}, nil, false, ActionNone, nil, false},
		{"p=none: nothing to lower", "v=DMARC1; p=none", false, []ARCSet{arcSet(1, "lists.example.net", true, dmarcPass)}, nil, false, ActionNone, nil, false},
		{"override wins", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, dmarcPass)}, fwd, false, ActionQuarantine, []ReasonType{ReasonLocalPolicy}, false},
		{"monitor after ARC", "v=DMARC1; p=reject", false, []ARCSet{arcSet(1, "lists.example.net", true, dmarcPass)}, nil, true, ActionNone, []ReasonType{ReasonTrustedForwarder, ReasonLocalPolicy}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{FromDomain: "example.com", OrgDomain: testOrgs(t), Discovery: disc(t, tt.record, "example.com", "example.com"),
				SPF: spfPass("lists.example.net"), ARC: tt.sets, TrustedSealers: trusted, Override: tt.override, Monitor: tt.monitor}
			if tt.dkimPass {
				in.DKIM = []DKIMResult{dkimPass("example.com")}
			}
			d := Evaluate(in)
			var got []ReasonType
			for _, r := range d.Reasons {
				got = append(got, r.Type)
			}
			if d.Disposition != tt.disposition || !equalReasons(got, tt.reasons) || (d.TrustedARC != nil) != tt.trusted {
				t.Fatalf("disposition %s reasons %v trusted %v; want %s %v %v", d.Disposition, got, d.TrustedARC, tt.disposition, tt.reasons, tt.trusted)
			}
			if tt.trusted {
				c := d.Reasons[0].Comment
				if !strings.Contains(c, "as[1].d=") || !strings.Contains(c, "as[1].s=s1") || !strings.Contains(c, "remote-ip[1]=192.0.2.7") {
					t.Errorf("comment %q lacks the ARC data", c)
				}
				if d.Result != Fail {
					t.Errorf("result %s: a trusted sealer does not make DMARC pass", d.Result)
				}
			}
		})
	}
}
