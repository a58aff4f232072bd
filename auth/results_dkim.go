package auth

import (
	"fmt"
	"strings"

	"dmarcgate/policy"
)

// maxListedDKIM bounds the dkim results one Authentication-Results field
// lists: a message may carry hundreds of signatures, and each listed one
// costs up to a few hundred bytes of header.
const maxListedDKIM = 8

// boundedDKIMWords lists every signature when there are at most
// maxListedDKIM; past that, the passing ones first (what a downstream
// filter acts on), then the others in message order, up to maxListedDKIM,
// and a comment counting the unlisted ones by result after the last one
// (RFC 8601 §2.2 allows CFWS there).
func (r Results) boundedDKIMWords() [][]string {
	all := r.dkimWords()
	if len(r.DKIM) <= maxListedDKIM {
		return all
	}
	var listed [][]string
	skipped := map[policy.Result]int{}
	var order []policy.Result
	for _, pass := range []bool{true, false} {
		for i, o := range r.DKIM {
			if (o.Result == policy.Pass) != pass {
				continue
			}
			if len(listed) < maxListedDKIM {
				listed = append(listed, all[i])
				continue
			}
			if skipped[o.Result] == 0 {
				order = append(order, o.Result)
			}
			skipped[o.Result]++
		}
	}
	last := listed[len(listed)-1]
	listed[len(listed)-1] = append(last[:len(last):len(last)], unlistedComment(skipped, order))
	return listed
}

// unlistedComment: "(292 more DKIM signatures not listed: 3 fail, 289 permerror)",
// results in the order first met (passes first).
func unlistedComment(skipped map[policy.Result]int, order []policy.Result) string {
	total := 0
	parts := make([]string, 0, len(order))
	for _, res := range order {
		total += skipped[res]
		parts = append(parts, fmt.Sprintf("%d %s", skipped[res], keyword(string(res))))
	}
	return fmt.Sprintf("(%d more DKIM signatures not listed: %s)", total, strings.Join(parts, ", "))
}
