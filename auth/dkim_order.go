package auth

import (
	"bytes"
	"sort"
	"strings"
)

// arrangeHeader returns the header section as the DKIM library should see
// it. The library verifies the first N DKIM-Signature fields in header
// order, which are the newest: with more than N, those added by lists and
// forwarders would crowd out the author's own signature, the one DMARC
// needs. So when there are more than N, the fields whose d= could align
// with the From domain are moved to the top (keeping their order, then the
// rest in theirs); v.order records where each came from. Moving a
// DKIM-Signature field changes no other signature's hash unless that
// signature signed DKIM-Signature fields, which signers rarely do.
func (v *DKIMVerifier) arrangeHeader() []byte {
	if v.truncated || len(fieldsNamed(v.header, "DKIM-Signature")) <= v.max {
		return v.header // the usual case: nothing to arrange
	}
	fields := HeaderFields(v.header)
	var sigs []int // indexes into fields
	for i, f := range fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			sigs = append(sigs, i)
		}
	}
	tags := dkimSignatureTags(v.header)
	fromDomain, _, _ := ParseFrom(v.header)
	pos := make([]int, len(sigs)) // header-order signature numbers
	for k := range pos {
		pos[k] = k
	}
	sort.SliceStable(pos, func(a, b int) bool {
		return mayAlign(tagDomain(tags, pos[a]), fromDomain) && !mayAlign(tagDomain(tags, pos[b]), fromDomain)
	})
	v.order = pos
	var out bytes.Buffer
	out.Grow(len(v.header))
	for _, k := range pos {
		out.Write(fields[sigs[k]].Raw)
	}
	moved := make(map[int]bool, len(sigs))
	for _, i := range sigs {
		moved[i] = true
	}
	last := 0
	for i, f := range fields {
		last = f.End
		if !moved[i] {
			out.Write(f.Raw)
		}
	}
	out.Write(v.header[last:]) // the empty line ending the header
	return out.Bytes()
}

func tagDomain(tags []sigTags, k int) string {
	if k < len(tags) {
		return tags[k].domain
	}
	return ""
}

// mayAlign is a DNS-free guess at relaxed alignment, used only to order
// signatures: the two names share their last two labels.
func mayAlign(d, from string) bool {
	if d == "" || from == "" {
		return false
	}
	return lastLabels(strings.ToLower(d), 2) == lastLabels(strings.ToLower(from), 2)
}

func lastLabels(name string, n int) string {
	name = strings.TrimSuffix(name, ".")
	i := len(name)
	for ; n > 0 && i > 0; n-- {
		i = strings.LastIndexByte(name[:i], '.')
		if i < 0 {
			return name
		}
	}
	return name[i+1:]
}
