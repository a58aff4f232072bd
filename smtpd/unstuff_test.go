package smtpd

import (
	"bytes"
	"testing"
)

// byteUnstuff is the reference: go-smtp's DATA reader (net/textproto's,
// without the CRLF rewriting) reduced to its state machine, a byte at a
// time. It returns the message, how many bytes it consumed and whether
// it found the end.
func byteUnstuff(p []byte) (msg []byte, used int, done bool) {
	state := stateBeginLine
	for i, c := range p {
		switch state {
		case stateBeginLine:
			if c == '.' {
				state = stateDot
				continue
			}
			if c == '\r' {
				state = stateCR
			} else {
				state = stateData
			}
		case stateDot:
			if c == '\r' {
				state = stateDotCR
				continue
			}
			state = stateData
		case stateDotCR:
			if c == '\n' {
				return msg, i + 1, true
			}
			state = stateData
		case stateCR:
			if c == '\n' {
				state = stateBeginLine
			} else {
				state = stateData
			}
		case stateData:
			if c == '\r' {
				state = stateCR
			}
		}
		msg = append(msg, c)
	}
	return msg, len(p), false
}

// chunkUnstuff feeds p to an unstuffer in pieces cut at cuts.
func chunkUnstuff(p []byte, cuts []int) (msg []byte, used int, done bool) {
	u := unstuffer{emit: func(b []byte) { msg = append(msg, b...) }}
	start := 0
	for _, end := range append(cuts, len(p)) {
		if end < start || end > len(p) {
			continue
		}
		n, d := u.feed(p[start:end])
		used += n
		if d {
			return msg, used, true
		}
		start = end
	}
	return msg, used, false
}

var unstuffCases = []string{
	"",
	".\r\n",
	"Subject: x\r\n\r\nbody\r\n.\r\n",
	"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	"..leading dot\r\n...two\r\n.\r\n",
	"a\r\n.\rX\r\n.\r\n",              // "." CR not followed by LF: both are lost
	"a\r\n.\r\r\n.\r\n",               // and CR after "." CR is data
	"a\r\r\n.\r\nstill data\r\n.\r\n", // CR CR LF begins no line
	"a\n.\nb\n.\r\n",                  // bare LF begins no line either
	"a\r\n.x\r\n.\r\n",
	"no end\r\n",
	"no end\r\n.",
	"no end\r\n.\r",
	"\r\n.\r\n",
	"\r\r\r\n\n\n.\r\n",
	"..\r\n.\r\n",
	"x\r\n..\r\n.\r\n",
}

func TestUnstufferMatchesByteReader(t *testing.T) {
	for _, in := range unstuffCases {
		p := []byte(in)
		wantMsg, wantUsed, wantDone := byteUnstuff(p)
		// Every single cut, and a byte at a time.
		cutsets := [][]int{nil}
		for i := 0; i <= len(p); i++ {
			cutsets = append(cutsets, []int{i})
		}
		var every []int
		for i := 1; i < len(p); i++ {
			every = append(every, i)
		}
		cutsets = append(cutsets, every)
		for _, cuts := range cutsets {
			msg, used, done := chunkUnstuff(p, cuts)
			if !bytes.Equal(msg, wantMsg) || used != wantUsed || done != wantDone {
				t.Errorf("%q cut at %v: got %q %d %v, want %q %d %v", in, cuts, msg, used, done, wantMsg, wantUsed, wantDone)
			}
		}
	}
}

// The reference's own expectations, so that it cannot drift with the code.
func TestByteUnstuffReference(t *testing.T) {
	for _, tc := range []struct {
		in, msg string
		used    int
		done    bool
	}{
		{".\r\n", "", 3, true},
		{"a\r\n..b\r\n.\r\nQUIT\r\n", "a\r\n.b\r\n", 11, true},
		{"a\r\n.\rX\r\n.\r\n", "a\r\nX\r\n", 11, true},
		{"a\r\r\n.\r\n", "a\r\r\n.\r\n", 7, false},
		{"a\n.\r\n", "a\n.\r\n", 5, false},
	} {
		msg, used, done := byteUnstuff([]byte(tc.in))
		if string(msg) != tc.msg || used != tc.used || done != tc.done {
			t.Errorf("%q: got %q %d %v, want %q %d %v", tc.in, msg, used, done, tc.msg, tc.used, tc.done)
		}
	}
}

func FuzzUnstuffer(f *testing.F) {
	for _, in := range unstuffCases {
		f.Add([]byte(in), uint8(3), uint8(7))
	}
	f.Fuzz(func(t *testing.T, p []byte, a, b uint8) {
		wantMsg, wantUsed, wantDone := byteUnstuff(p)
		cuts := []int{int(a) % (len(p) + 1), int(a)%(len(p)+1) + int(b)}
		msg, used, done := chunkUnstuff(p, cuts)
		if !bytes.Equal(msg, wantMsg) || used != wantUsed || done != wantDone {
			t.Fatalf("%q cut at %v: got %q %d %v, want %q %d %v", p, cuts, msg, used, done, wantMsg, wantUsed, wantDone)
		}
	})
}
