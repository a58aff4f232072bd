package arc

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		vals  map[string]string
		err   error
	}{
		{"a=1; b=2", []string{"a", "b"}, map[string]string{"a": "1", "b": "2"}, nil},
		{"a=1;b=2;", []string{"a", "b"}, map[string]string{"a": "1", "b": "2"}, nil},
		{" a = 1 ;\r\n\tb =\r\n 2 3 ", []string{"a", "b"}, map[string]string{"a": "1", "b": "2 3"}, nil},
		{"v=DKIM1; p=", []string{"v", "p"}, map[string]string{"v": "DKIM1", "p": ""}, nil},
		{"h=from:to:date", []string{"h"}, map[string]string{"h": "from:to:date"}, nil},
		{"b=ab+/cd=", []string{"b"}, map[string]string{"b": "ab+/cd="}, nil},
		{"a_1=x", []string{"a_1"}, map[string]string{"a_1": "x"}, nil},
		{"a=1; a=2", nil, nil, ErrTagDuplicate},
		{"a=1;; b=2", nil, nil, ErrTagSyntax},
		{"a", nil, nil, ErrTagSyntax},
		{"1a=x", nil, nil, ErrTagSyntax},
		{"=x", nil, nil, ErrTagSyntax},
		{"a-b=x", nil, nil, ErrTagSyntax},
		{"a=x\x00y", nil, nil, ErrTagSyntax},
		{"a=x\r\ny", nil, nil, ErrTagSyntax}, // CRLF not followed by WSP
		{"a=é", nil, nil, ErrTagSyntax},
		{"", nil, nil, ErrTagSyntax},
		{";", nil, nil, ErrTagSyntax},
	}
	for _, tt := range tests {
		got, err := ParseTags(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseTags(%q) error %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTags(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Names, tt.names) {
			t.Errorf("ParseTags(%q) names %q, want %q", tt.in, got.Names, tt.names)
		}
		for k, v := range tt.vals {
			if g, ok := got.Get(k); !ok || g != v {
				t.Errorf("ParseTags(%q)[%s] = %q %v, want %q", tt.in, k, g, ok, v)
			}
		}
	}
}

func TestParseTagsBounded(t *testing.T) {
	s := ""
	for i := 0; i < maxTags+1; i++ {
		s += "a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=1;"
	}
	if _, err := ParseTags(s); !errors.Is(err, ErrTagSyntax) {
		t.Fatalf("%d tags: error %v, want ErrTagSyntax", maxTags+1, err)
	}
}

func TestCompact(t *testing.T) {
	if got := Compact(" ab\r\n\tc d "); got != "abcd" {
		t.Fatalf("Compact = %q", got)
	}
	if got := Compact("abc"); got != "abc" {
		t.Fatalf("Compact = %q", got)
	}
}
