package arc

import (
	"strings"

	"dmarcgate/auth"
	"dmarcgate/policy"
)

// Evidence turns a validated chain into policy's input: each set's sealer
// and what its AAR records. A chain that did not pass gives nil: a failed
// chain is no chain (RFC 8617 §5.2).
func (r Result) Evidence() []policy.ARCSet {
	if r.Status != Pass {
		return nil
	}
	out := make([]policy.ARCSet, 0, len(r.Sets))
	for _, s := range r.Sets {
		e := policy.ARCSet{
			Instance: s.Instance,
			Sealer:   strings.ToLower(s.SealTags.Value("d")),
			Selector: s.SealTags.Value("s"),
			Intact:   r.OldestPass == 0 || s.Instance >= r.OldestPass,
		}
		e.Results, e.ClientIP = recorded(s)
		out = append(out, e)
	}
	return out
}

// recorded reads the method results of a set's AAR and the client IP it
// names (smtp.remote-ip of arc=, RFC 8617 §10.2, or smtp.client-ip).
func recorded(s *Set) ([]policy.ARCResult, string) {
	if s.Results == "" {
		return nil, ""
	}
	_, methods, err := auth.ParseAuthResults(s.AuthservID + "; " + s.Results)
	if err != nil {
		return nil, ""
	}
	var out []policy.ARCResult
	ip := ""
	for _, m := range methods {
		r := policy.ARCResult{Method: strings.ToLower(m.Method), Result: strings.ToLower(m.Result)}
		for _, p := range m.Props {
			switch strings.ToLower(p.Type + "." + p.Name) {
			case "header.from":
				if r.Method == "dmarc" {
					r.Domain = p.Value
				}
			case "smtp.mailfrom":
				if r.Method == "spf" {
					r.Domain = domainOf(p.Value)
				}
			case "header.d":
				if r.Method == "dkim" {
					r.Domain = p.Value
				}
			case "header.i":
				if r.Method == "dkim" && r.Domain == "" {
					r.Domain = domainOf(p.Value)
				}
			case "smtp.remote-ip", "smtp.client-ip":
				ip = p.Value
			}
		}
		out = append(out, r)
	}
	return out, ip
}

// domainOf is the part of an address after its last "@", or all of it.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

// Sealer returns the ARC-Seal d= and s= of a set.
func (s *Set) Sealer() (domain, selector string) {
	return strings.ToLower(s.SealTags.Value("d")), s.SealTags.Value("s")
}
