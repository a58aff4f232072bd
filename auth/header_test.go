package auth

import (
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
