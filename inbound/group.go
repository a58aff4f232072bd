package inbound

import (
	"strings"

	"dmarcgate/policy"
)

// AssignOrgs names the organisation behind each source where the data
// says so: the organisational domain of the DKIM d= that passed most
// often, else of the SPF domain that passed, else of its PTR name.
// Sources that authenticate as the domain itself belong to it.
func AssignOrgs(sum *Summary) {
	for _, src := range sum.Sources {
		src.Org = orgOf(src)
	}
}

func orgOf(src *SourceStat) string {
	if d := bestPass(src.DKIM, true); d != "" {
		return policy.OrgDomainPSL(d)
	}
	if d := bestPass(src.SPF, false); d != "" {
		return policy.OrgDomainPSL(d)
	}
	if src.PTR != "" {
		return policy.OrgDomainPSL(strings.TrimSuffix(src.PTR, "."))
	}
	return ""
}

// bestPass returns the domain that passed for the most messages.
func bestPass(m map[string]uint64, pairs bool) string {
	best, most := "", uint64(0)
	for _, k := range sortedKeys(m) {
		fields := []string{k}
		if pairs {
			fields = strings.Fields(k)
		}
		for _, f := range fields {
			d, res, _ := strings.Cut(f, "=")
			if res == "pass" && d != "" && m[k] > most {
				best, most = d, m[k]
			}
		}
	}
	return best
}
