package queue

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleRecord() *record {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	return &record{Message: Message{
		ID: "0123456789abc", Kind: KindReport, Route: RouteOutbound, From: `"a b"@sender.test`,
		To: []string{"b@example.test", "c@example.test"}, UTF8: true, Body8Bit: true,
		Prefix: []byte("Received: x\r\n"), Omit: []Range{{1, 5}, {9, 12}}, Held: true, HoldReason: "why",
		Received: now, Expire: time.Hour, Meta: map[string]string{"k": "v", "a": ""}, Smarthost: "h:25", NoDSN: true,
		Attempts: 3, LastError: "451 later", NextAttempt: now.Add(time.Minute), Size: 1234,
	}, Spooled: true}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []*record{sampleRecord(), {Message: Message{ID: "x"}}} {
		b, err := encodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if !recordsEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

// TestRecordReadsJSON: entries stored before the binary form still load.
func TestRecordReadsJSON(t *testing.T) {
	r := sampleRecord()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(b)
	if err != nil || !recordsEqual(got, r) {
		t.Fatalf("decoding JSON: %+v, %v", got, err)
	}
}

func TestRecordRefusesCorruption(t *testing.T) {
	good, _ := encodeRecord(sampleRecord())
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte{}, good...), 0),
		"json":      []byte("{bad"),
		"count":     {recordV1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, err := decodeRecord(b); !errors.Is(err, errCorruptEntry) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzDecodeRecord: a damaged database yields an error, never a panic or
// a huge allocation, and what decodes encodes back to the same record.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := encodeRecord(sampleRecord())
	f.Add(good)
	f.Add([]byte(`{"ID":"x","To":["a@b"]}`))
	f.Add([]byte{recordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := encodeRecord(r)
		if err != nil {
			return // a time the binary form cannot hold (from JSON)
		}
		r2, err := decodeRecord(again)
		if err != nil || !recordsEqual(r, r2) {
			t.Fatalf("re-encoding %+v: %+v, %v", r, r2, err)
		}
	})
}

// recordsEqual compares records, times by instant and empty slices and
// maps as absent.
func recordsEqual(a, b *record) bool {
	if !a.Received.Equal(b.Received) || !a.NextAttempt.Equal(b.NextAttempt) {
		return false
	}
	x, y := *a, *b
	for _, r := range []*record{&x, &y} {
		r.Received, r.NextAttempt = time.Time{}, time.Time{}
		if len(r.To) == 0 {
			r.To = nil
		}
		if len(r.Prefix) == 0 {
			r.Prefix = nil
		}
		if len(r.Omit) == 0 {
			r.Omit = nil
		}
		if len(r.Meta) == 0 {
			r.Meta = nil
		}
	}
	return reflect.DeepEqual(x, y)
}
