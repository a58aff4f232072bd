package auth

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestHeaderFields(t *testing.T) {
	block := "Received: from a\r\n\tby b\r\nFrom: x@a.example\r\nno colon here\r\nSubject:  hi \r\n there\r\n\r\nBody: not a field\r\n"
	fields := HeaderFields([]byte(block))
	want := []struct{ name, raw, value string }{
		{"Received", "Received: from a\r\n\tby b\r\n", "from a\tby b"},
		{"From", "From: x@a.example\r\n", "x@a.example"},
		{"no colon here", "no colon here\r\n", ""},
		{"Subject", "Subject:  hi \r\n there\r\n", "hi  there"},
	}
	if len(fields) != len(want) {
		t.Fatalf("got %d fields: %+v", len(fields), fields)
	}
	for i, f := range fields {
		if f.Name != want[i].name || string(f.Raw) != want[i].raw || f.Value() != want[i].value {
			t.Errorf("field %d = %q %q %q, want %q %q %q", i, f.Name, f.Raw, f.Value(), want[i].name, want[i].raw, want[i].value)
		}
		if block[f.Start:f.End] != string(f.Raw) {
			t.Errorf("field %d offsets %d..%d do not locate it", i, f.Start, f.End)
		}
	}
	if end := HeaderEnd([]byte(block)); block[:end] != block[:fields[3].End+2] {
		t.Errorf("HeaderEnd = %d", end)
	}
}

func TestHeaderFieldsEdges(t *testing.T) {
	tests := []struct {
		block string
		names []string
		end   int
	}{
		{"", nil, -1},
		{"\r\n", nil, 2},
		{"\n", nil, 1},
		{"A: 1", []string{"A"}, -1},
		{"A: 1\nB: 2\n\n", []string{"A", "B"}, 11},
		{" leading: continuation\r\nA: 1\r\n", []string{"leading", "A"}, -1},
		{"A: 1\r\n \r\n\r\n", []string{"A"}, 11},
		{"A: 1\r\r\nB: 2\r\n\r\n", []string{"A", "B"}, 15},
	}
	for _, tt := range tests {
		fields := HeaderFields([]byte(tt.block))
		var names []string
		for _, f := range fields {
			names = append(names, f.Name)
		}
		if len(names) != len(tt.names) {
			t.Errorf("HeaderFields(%q) names %q, want %q", tt.block, names, tt.names)
			continue
		}
		for i := range names {
			if names[i] != tt.names[i] {
				t.Errorf("HeaderFields(%q) names %q, want %q", tt.block, names, tt.names)
			}
		}
		if end := HeaderEnd([]byte(tt.block)); end != tt.end {
			t.Errorf("HeaderEnd(%q) = %d, want %d", tt.block, end, tt.end)
		}
	}
}

// fieldsNamed and hasField find what HeaderFields lists, matched as the
// DKIM library matches names (Unicode case folding: U+212A is a K).
func TestFieldsNamed(t *testing.T) {
	block := []byte("From: a@a.example\r\nDKIM-Signature: one\r\n\tfolded\r\nsubject: x\r\n" +
		"d\u212aim-signature: two\r\nno colon here\r\nfrom : b@b.example\r\n\r\nFrom: body@c.example\r\n")
	for _, tc := range []struct {
		name string
		raws []string
	}{
		{"From", []string{"From: a@a.example\r\n", "from : b@b.example\r\n"}},
		{"DKIM-Signature", []string{"DKIM-Signature: one\r\n\tfolded\r\n", "d\u212aim-signature: two\r\n"}},
		{"no colon here", []string{"no colon here\r\n"}},
		{"To", nil},
	} {
		got := fieldsNamed(block, tc.name)
		var raws []string
		for _, f := range got {
			raws = append(raws, string(f.Raw))
			if string(block[f.Start:f.End]) != string(f.Raw) {
				t.Errorf("%s: Start/End %d/%d do not locate %q", tc.name, f.Start, f.End, f.Raw)
			}
		}
		if !slices.Equal(raws, tc.raws) {
			t.Errorf("fieldsNamed(%q) = %q, want %q", tc.name, raws, tc.raws)
		}
		if hasField(block, tc.name) != (len(tc.raws) > 0) {
			t.Errorf("hasField(%q) = %v", tc.name, !(len(tc.raws) > 0))
		}
	}
}

func FuzzFieldsNamed(f *testing.F) {
	f.Add([]byte("From: a\r\n b\r\nfrom: c\r\n\r\nFrom: d"), "FROM")
	f.Add([]byte(" x: y\nK: 1\n\u212a: 2\n"), "k")
	f.Fuzz(func(t *testing.T, block []byte, name string) {
		var want []Field
		for _, fl := range HeaderFields(block) {
			if strings.EqualFold(fl.Name, name) {
				want = append(want, fl)
			}
		}
		got := fieldsNamed(block, name)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fieldsNamed = %+v, HeaderFields gives %+v", got, want)
		}
		if hasField(block, name) != (len(want) > 0) {
			t.Fatalf("hasField = %v with %d matching fields", !(len(want) > 0), len(want))
		}
	})
}
