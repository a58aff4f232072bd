package inbound

import (
	"encoding/binary"
	"errors"
)

// errCorrupt: a stored value does not decode; the store refuses to guess.
var errCorrupt = errors.New("inbound: stored value is damaged")

// writer appends the store's compact encoding: uvarints and
// length-prefixed strings. A year of reports for a large domain is
// millions of rows; this keeps them small and quick to read back.
type writer struct{ b []byte }

func (w *writer) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *writer) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// reader reads what writer wrote; after the first error every read
// returns zero values and err stays set.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a string's bytes, sharing the stored value (valid only
// inside its transaction).
func (r *reader) bytes() []byte {
	n := r.uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errCorrupt
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) str() string { return string(r.bytes()) }
