package inbound

import "time"

// encodeVersion leads every stored report, so the layout can change.
const encodeVersion = 1

func encodeReport(r *Report) []byte {
	w := &writer{b: make([]byte, 0, 128+len(r.Rows)*48)}
	w.uint(encodeVersion)
	for _, s := range []string{r.Org, r.Email, r.Policy.P, r.Policy.SP, r.Policy.Pct, r.Policy.Testing, r.Policy.ADKIM, r.Policy.ASPF} {
		w.str(s)
	}
	w.uint(uint64(r.Begin.Unix()))
	w.uint(uint64(r.End.Unix()))
	w.uint(b2u(r.RFC9990))
	w.uint(uint64(len(r.Rows)))
	for i := range r.Rows {
		row := &r.Rows[i]
		w.str(row.SourceIP)
		w.uint(row.Count)
		w.uint(b2u(row.DKIMAligned) | b2u(row.SPFAligned)<<1)
		for _, s := range []string{row.Disposition, row.HeaderFrom, row.SPFDomain, row.SPFResult, row.DKIM, row.Reasons} {
			w.str(s)
		}
	}
	return w.b
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// reportHead is a stored report without its rows.
type reportHead struct {
	Org, Email string
	Policy     PublishedPolicy
	Begin, End time.Time
	RFC9990    bool
	rows       int
}

// rowView is a row read in place: its byte slices share the stored value
// and are valid only inside the transaction that read it.
type rowView struct {
	ip                                         []byte
	count                                      uint64
	dkimAligned, spfAligned                    bool
	disposition, headerFrom, spfDomain, spfRes []byte
	dkim, reasons                              []byte
}

// decodeHead reads the report's head and leaves r at its first row.
func decodeHead(r *reader) reportHead {
	var h reportHead
	if r.uint() != encodeVersion && r.err == nil {
		r.err = errCorrupt
	}
	for _, s := range []*string{&h.Org, &h.Email, &h.Policy.P, &h.Policy.SP, &h.Policy.Pct, &h.Policy.Testing, &h.Policy.ADKIM, &h.Policy.ASPF} {
		*s = r.str()
	}
	h.Begin = time.Unix(int64(r.uint()), 0).UTC()
	h.End = time.Unix(int64(r.uint()), 0).UTC()
	h.RFC9990 = r.uint() == 1
	n := r.uint()
	if n > uint64(len(r.b)) { // every row takes more than a byte
		r.err = errCorrupt
	}
	h.rows = int(n)
	return h
}

func decodeRow(r *reader, v *rowView) {
	v.ip = r.bytes()
	v.count = r.uint()
	f := r.uint()
	v.dkimAligned, v.spfAligned = f&1 != 0, f&2 != 0
	for _, s := range []*[]byte{&v.disposition, &v.headerFrom, &v.spfDomain, &v.spfRes, &v.dkim, &v.reasons} {
		*s = r.bytes()
	}
}

// decodeReport reads a whole stored report back (tests, listings).
func decodeReport(b []byte) (*Report, error) {
	r := &reader{b: b}
	h := decodeHead(r)
	rep := &Report{Org: h.Org, Email: h.Email, Policy: h.Policy, Begin: h.Begin, End: h.End, RFC9990: h.RFC9990}
	var v rowView
	for i := 0; i < h.rows && r.err == nil; i++ {
		decodeRow(r, &v)
		rep.Rows = append(rep.Rows, Row{SourceIP: string(v.ip), Count: v.count, DKIMAligned: v.dkimAligned,
			SPFAligned: v.spfAligned, Disposition: string(v.disposition), HeaderFrom: string(v.headerFrom),
			SPFDomain: string(v.spfDomain), SPFResult: string(v.spfRes), DKIM: string(v.dkim), Reasons: string(v.reasons)})
	}
	if r.err != nil {
		return nil, r.err
	}
	return rep, nil
}
