package policy

import (
	"strings"
	"testing"
)

func TestRecordProblems(t *testing.T) {
	tests := []struct {
		record string
		want   []string // each a substring of one problem, in order
	}{
		{"v=DMARC1; p=reject; rua=mailto:a@example.org; fo=1:d; adkim=s", nil},
		{"v=DMARC1; p=rejectt; rua=mailto:a@example.org", []string{"p=rejectt is invalid (none, quarantine or reject): the record acts as p=none"}},
		{"v=DMARC1; p=reject; sp=quarantined", []string{"sp=quarantined is invalid"}},
		{"v=DMARC1; p=none; adkim=strict; aspf=x; t=yes; psd=maybe", []string{"adkim=strict is invalid (r or s)", "aspf=x is invalid", "t=yes is invalid", "psd=maybe is invalid"}},
		{"v=DMARC1; p=none; fo=1:x:2", []string{`fo=1:x:2 has unknown options "x", "2"`}},
		{"v=DMARC1; p=none; pct=150", []string{"pct=150 is invalid"}},
		{"v=DMARC1; p=none; rua=mailto:a@example.org,bogus, mailto:", []string{"rua= has 2 invalid URI(s): dropped"}},
		{"v=DMARC1; p=none; p=reject", []string{"tag p occurs twice: the record is invalid"}},
		{"v=DMARC1; p=none; ruaa=mailto:a@example.org; rf=afrf; ri=86400", []string{"unknown tag ruaa: ignored"}},
		{"v=DMARC1; p=none; junk", []string{`"junk" is not a tag=value pair`}},
		{"v=DMARC1;;p=none;", nil},
		{"v=DMARC1; rua=mailto:a@example.org", []string{"no p tag: the record acts as p=none"}},
		{"v=spf1 -all", []string{"not a DMARC record"}},
	}
	for _, tt := range tests {
		got := RecordProblems(tt.record)
		if len(got) != len(tt.want) {
			t.Errorf("RecordProblems(%q) = %q, want %d problems", tt.record, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("RecordProblems(%q)[%d] = %q, want it to say %q", tt.record, i, got[i], w)
			}
		}
	}
}

// FuzzRecordProblems: any TXT string gives a bounded list of one-line
// problems, and none for a record ParseRecord takes with every tag valid.
func FuzzRecordProblems(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=rejectt", "v=DMARC1; p=none; rua=mailto:a@b.c!10m", "v=DMARC1;;;=;fo=::", "v=DMARC1; p=none; p=none"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		got := RecordProblems(txt)
		if len(got) > maxTagProblems {
			t.Fatalf("%d problems", len(got))
		}
		for _, p := range got {
			if p == "" || len(p) > 300 {
				t.Fatalf("problem %q", p)
			}
		}
		if _, err := ParseRecord(txt); err != nil && IsDMARCRecord(txt) && len(got) == 0 {
			t.Fatalf("ParseRecord refuses %q (%v) but no problem is named", txt, err)
		}
	})
}
