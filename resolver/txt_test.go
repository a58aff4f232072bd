package resolver

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/miekg/dns"

	"dmarcgate/resolver/resolvertest"
)

// wireTXT is a TXT record holding raw as one character-string, unpacked by
// miekg/dns from the wire.
func wireTXT(t testing.TB, raw []byte) *dns.TXT {
	msg := []byte{0}                                             // owner: the root
	msg = binary.BigEndian.AppendUint16(msg, dns.TypeTXT)        // type
	msg = binary.BigEndian.AppendUint16(msg, dns.ClassINET)      // class
	msg = binary.BigEndian.AppendUint32(msg, 300)                // TTL
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(raw)+1)) // RDLENGTH
	msg = append(append(msg, byte(len(raw))), raw...)
	rr, _, err := dns.UnpackRR(msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rr.(*dns.TXT)
}

func TestTXTBytes(t *testing.T) {
	for _, raw := range []string{
		"v=spf1 -all",
		"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all",
		"quote \" backslash \\ tab \t nul \x00 del \x7f",
		"\\123 is not an escape here",
		";()@ ",
		"",
	} {
		txt := wireTXT(t, []byte(raw))
		if got := txtBytes(txt.Txt[0]); got != raw {
			t.Errorf("%q: miekg/dns gives %q, txtBytes %q", raw, txt.Txt[0], got)
		}
	}
}

// LookupTXT returns a record's bytes, as the server sent them.
func TestLookupTXTReturnsBytes(t *testing.T) {
	srv := resolvertest.Start(t, resolvertest.Zone{
		"utf8.example.": {`utf8.example. 300 IN TXT "v=spf1 a:\239\187\191x.example -all" "\"q\" \\"`},
	})
	c, _ := newTestClient(t, Config{}, srv)
	txts, err := c.LookupTXT(context.Background(), "utf8.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v=spf1 a:\xef\xbb\xbfx.example -all\"q\" \\"; len(txts) != 1 || txts[0] != want {
		t.Errorf("LookupTXT = %q, want %q", txts, want)
	}
}

func FuzzTXTBytes(f *testing.F) {
	f.Add([]byte("v=spf1 -all"))
	f.Add([]byte("\\\"\x00\xff\\065"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 255 {
			raw = raw[:255]
		}
		txt := wireTXT(t, raw)
		if got := txtBytes(txt.Txt[0]); got != string(raw) {
			t.Fatalf("%q: miekg/dns gives %q, txtBytes %q", raw, txt.Txt[0], got)
		}
	})
}
