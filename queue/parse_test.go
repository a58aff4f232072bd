package queue

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

func TestNormaliseRanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Range
		size int64
		want []Range
		bad  bool
	}{
		{"none", nil, 10, nil, false},
		{"empty dropped", []Range{{3, 3}}, 10, nil, false},
		{"sorted and merged", []Range{{6, 8}, {0, 2}, {1, 4}}, 10, []Range{{0, 4}, {6, 8}}, false},
		{"adjacent merged", []Range{{0, 2}, {2, 5}}, 10, []Range{{0, 5}}, false},
		{"whole body", []Range{{0, 10}}, 10, []Range{{0, 10}}, false},
		{"negative", []Range{{-1, 2}}, 10, nil, true},
		{"reversed", []Range{{5, 2}}, 10, nil, true},
		{"past end", []Range{{5, 11}}, 10, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normaliseRanges(tc.in, tc.size)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if !tc.bad && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDeliveredReader(t *testing.T) {
	body := []byte("0123456789")
	for _, tc := range []struct {
		prefix string
		omit   []Range
		want   string
	}{
		{"", nil, "0123456789"},
		{"P:", nil, "P:0123456789"},
		{"P:", []Range{{0, 3}}, "P:3456789"},
		{"", []Range{{2, 4}, {8, 10}}, "014567"},
		{"X", []Range{{0, 10}}, "X"},
	} {
		r := deliveredReader([]byte(tc.prefix), bytes.NewReader(body), int64(len(body)), tc.omit)
		got, err := io.ReadAll(r)
		if err != nil || string(got) != tc.want {
			t.Errorf("prefix %q omit %v: got %q (%v), want %q", tc.prefix, tc.omit, got, err, tc.want)
		}
		if n := deliveredSize([]byte(tc.prefix), int64(len(body)), tc.omit); n != int64(len(tc.want)) {
			t.Errorf("deliveredSize = %d, want %d", n, len(tc.want))
		}
	}
}

func TestReadHeaders(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n", 1000, "A: 1\r\nB: 2\r\n"},
		{"A: 1\nB: 2\n\nbody\n", 1000, "A: 1\nB: 2\n"},
		{"A: 1\r\nno blank line", 1000, "A: 1\r\nno blank line"},
		{"A: 1\r\nB: 22222222\r\n\r\n", 10, "A: 1\r\n"},
		{"", 1000, ""},
	} {
		if got := string(readHeaders(strings.NewReader(tc.in), tc.limit)); got != tc.want {
			t.Errorf("readHeaders(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestParseExtensions(t *testing.T) {
	ext := parseExtensions("mx.test greets you\nPIPELINING\nSIZE 1000\nstarttls\n8BITMIME")
	if _, ok := ext["STARTTLS"]; !ok || ext["SIZE"] != "1000" || len(ext) != 4 {
		t.Fatalf("extensions %v", ext)
	}
	if _, ok := ext["SMTPUTF8"]; ok {
		t.Fatal("SMTPUTF8 was not offered")
	}
	if ext := parseExtensions("STARTTLS"); len(ext) != 0 {
		t.Fatalf("the greeting line is not an extension: %v", ext)
	}
}

func TestReplyErrorAndStatus(t *testing.T) {
	for _, tc := range []struct {
		err    error
		reply  string
		status string
		perm   bool
	}{
		{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no\r\nsuch"}, "550 5.1.1 no  such", "5.1.1", true},
		{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.NoEnhancedCode, Message: "go away"}, "554 go away", "5.0.0", true},
		{&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}, "451 4.3.0 later", "4.3.0", false},
		{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{4, 1, 1}, Message: "mixed"}, "550 4.1.1 mixed", "5.0.0", true},
		{io.ErrUnexpectedEOF, "unexpected EOF", "4.0.0", false},
		{&expiredError{age: time.Hour, last: io.EOF}, "gave up after 1h0m0s in the queue; last error: EOF", "4.4.7", false},
	} {
		if got := replyText(tc.err); got != tc.reply {
			t.Errorf("replyText = %q, want %q", got, tc.reply)
		}
		if got := dsnStatus(tc.err); got != tc.status {
			t.Errorf("%v: status %s, want %s", tc.err, got, tc.status)
		}
		if got := failure("x@y", tc.err).perm; got != tc.perm {
			t.Errorf("%v: perm %v, want %v", tc.err, got, tc.perm)
		}
	}
}

func TestIDsSortAndStayUnique(t *testing.T) {
	var g idGen
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		t2 := now
		if i%3 == 0 {
			t2 = now.Add(-time.Second) // a clock stepping back
		}
		id := g.next(t2)
		if id <= prev || seen[id] || len(id) != 13 {
			t.Fatalf("id %q after %q", id, prev)
		}
		seen[id] = true
		prev = id
	}
	var g2 idGen
	g2.observe(prev)
	if id := g2.next(now.Add(-time.Hour)); id <= prev {
		t.Fatalf("after observe(%s), next is %s", prev, id)
	}
}

func TestDSNQuotesFewFieldsBounded(t *testing.T) {
	long := "Subject: " + strings.Repeat("é", 800) + "\r\n"
	in := "Received: from x\r\nX-Junk: a\r\n\tb\r\nFrom: <a@b.test>\r\nSubject: one\r\n\ttwo\r\n" +
		"From: <second@b.test>\r\nTo: <c@d.test>\r\n"
	got := string(minimalHeaders([]byte(in)))
	want := "From: <a@b.test>\r\nSubject: one\r\n\ttwo\r\nTo: <c@d.test>\r\n"
	if got != want {
		t.Errorf("minimalHeaders = %q, want %q", got, want)
	}
	cut := minimalHeaders([]byte(long))
	if len(cut) > maxQuotedField+2 || !utf8.Valid(cut) || !strings.HasSuffix(string(cut), "é\r\n") {
		t.Errorf("long field cut to %d bytes (valid UTF-8 %v): ...%q", len(cut), utf8.Valid(cut), cut[len(cut)-8:])
	}
	many := strings.Repeat("To: <"+strings.Repeat("x", 900)+"@d.test>\r\n", 1) +
		strings.Repeat("Cc: "+strings.Repeat("y", 990)+"\r\n", 1) + long + "Date: now\r\nFrom: <f@g.test>\r\nMessage-ID: <" + strings.Repeat("m", 990) + ">\r\n"
	if n := len(minimalHeaders([]byte(many))); n > maxQuotedHeader {
		t.Errorf("quoted %d bytes in all, over %d", n, maxQuotedHeader)
	}
}
