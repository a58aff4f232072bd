package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Stored entries are a version byte and the fields in a fixed order:
// strings and byte slices with a length, integers as varints, times in
// time's binary form. It is read and written for every delivery, where
// JSON cost several times more. Entries stored as JSON (a '{' first) are
// still read.
const recordV1 = 1

// maxRecordItems bounds the counts read back (recipients, ranges, Meta).
const maxRecordItems = 1 << 20

var errCorruptEntry = errors.New("queue: corrupt entry")

func encodeRecord(r *record) ([]byte, error) {
	b := make([]byte, 0, 256+len(r.Prefix))
	b = append(b, recordV1)
	for _, s := range []string{r.ID, r.Kind, string(r.Route), r.From} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(r.To)))
	for _, t := range r.To {
		b = appendString(b, t)
	}
	b = appendString(b, string(r.Prefix))
	b = binary.AppendUvarint(b, uint64(len(r.Omit)))
	for _, o := range r.Omit {
		b = binary.AppendVarint(b, o.Start)
		b = binary.AppendVarint(b, o.End)
	}
	b = appendString(b, r.HoldReason)
	b = appendString(b, r.Smarthost)
	b = appendString(b, r.LastError)
	b = binary.AppendUvarint(b, uint64(len(r.Meta)))
	for _, k := range slices.Sorted(maps.Keys(r.Meta)) {
		b = appendString(b, k)
		b = appendString(b, r.Meta[k])
	}
	var err error
	for _, t := range []time.Time{r.Received, r.NextAttempt} {
		if b, err = appendTime(b, t); err != nil {
			return nil, err
		}
	}
	b = binary.AppendVarint(b, int64(r.Expire))
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = binary.AppendVarint(b, r.Size)
	var flags byte
	for i, f := range []bool{r.UTF8, r.Body8Bit, r.Held, r.NoDSN, r.Spooled} {
		if f {
			flags |= 1 << i
		}
	}
	return append(b, flags), nil
}

func decodeRecord(b []byte) (*record, error) {
	r := &record{}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("%w: %v", errCorruptEntry, err)
		}
		return r, nil
	}
	if len(b) == 0 || b[0] != recordV1 {
		return nil, fmt.Errorf("%w: unknown format", errCorruptEntry)
	}
	d := recordDecoder{b: b[1:]}
	var route string
	for _, s := range []*string{&r.ID, &r.Kind, &route, &r.From} {
		*s = d.string()
	}
	r.Route = Route(route)
	if n := d.count(); n > 0 {
		r.To = make([]string, n)
		for i := range r.To {
			r.To[i] = d.string()
		}
	}
	if p := d.string(); p != "" {
		r.Prefix = []byte(p)
	}
	if n := d.count(); n > 0 {
		r.Omit = make([]Range, n)
		for i := range r.Omit {
			r.Omit[i] = Range{Start: d.varint(), End: d.varint()}
		}
	}
	r.HoldReason, r.Smarthost, r.LastError = d.string(), d.string(), d.string()
	if n := d.count(); n > 0 {
		r.Meta = make(map[string]string, n)
		for range n {
			k := d.string()
			r.Meta[k] = d.string()
		}
	}
	r.Received, r.NextAttempt = d.time(), d.time()
	r.Expire, r.Attempts, r.Size = time.Duration(d.varint()), int(d.varint()), d.varint()
	flags := d.byte()
	for i, f := range []*bool{&r.UTF8, &r.Body8Bit, &r.Held, &r.NoDSN, &r.Spooled} {
		*f = flags&(1<<i) != 0
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) > 0 {
		return nil, fmt.Errorf("%w: %d bytes left over", errCorruptEntry, len(d.b))
	}
	return r, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	tb, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("queue: storing time %v: %w", t, err)
	}
	return appendString(b, string(tb)), nil
}

// recordDecoder reads fields until the first error, which it keeps.
type recordDecoder struct {
	b   []byte
	err error
}

func (d *recordDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorruptEntry, what)
	}
	d.b = nil
}

func (d *recordDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) count() int {
	n := d.uvarint()
	if n > maxRecordItems || n > uint64(len(d.b)) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *recordDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) string() string { return string(d.bytes()) }

func (d *recordDecoder) time() time.Time {
	var t time.Time
	if err := t.UnmarshalBinary(d.bytes()); err != nil {
		d.fail("time")
	}
	return t
}

func (d *recordDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("flags")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
