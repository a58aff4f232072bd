package inbound

import (
	"fmt"
	"net"
	"sort"
	"strings"
)

// Verdicts of Advise.
const (
	Ready         = "ready"
	NotReady      = "not-ready"
	NotEnoughData = "not-enough-data"
)

// Rule is what Advise asks of the reports before it calls the next step
// of a rollout safe (README, "When is a domain ready?").
type Rule struct {
	// MinDays: reports on at least this many distinct days of the window
	// (or every day of a shorter window).
	MinDays int
	// MinMessages: at least this much reported volume.
	MinMessages uint64
	// BlockingShare: a sender (an organisation, or an IP address the data
	// ties to none) whose mail failing DMARC reaches this share of the
	// volume stands in the way.
	BlockingShare float64
}

// DefaultRule is the rule the commands apply.
var DefaultRule = Rule{MinDays: 14, MinMessages: 100, BlockingShare: 0.01}

// Published is the domain's DMARC record as our own lookup finds it now.
type Published struct {
	Found   bool
	P, SP   string
	Pct     int // 100 when absent
	Testing bool
	Record  string // the record's text
	Err     string // why no record was found, when it was not
}

// Blocker is a sender whose failing mail stands in the way.
type Blocker struct {
	Org      string   `json:"org,omitempty"`
	Sources  []string `json:"sources"` // IPs, or a /24 (/64) they share
	Domains  []string `json:"domains"` // SPF and DKIM domains it authenticates as
	Failing  uint64   `json:"failing"`
	Share    float64  `json:"share"`
	Evidence string   `json:"evidence"`
}

// Advice is where a domain stands and whether the next step is safe.
type Advice struct {
	Stage    string    `json:"stage"` // none, monitor, quarantine, reject
	Partial  string    `json:"partial,omitempty"`
	Next     string    `json:"next"`
	Verdict  string    `json:"verdict"`
	Reasons  []string  `json:"reasons"`
	Blockers []Blocker `json:"blockers"`
}

// Advise applies rule to the reports of a window of days and the record
// published now. It is pure: the same inputs give the same advice.
func Advise(sum *Summary, days int, pub Published, rule Rule) Advice {
	a := stage(pub)
	switch {
	case !pub.Found:
		a.Verdict = NotEnoughData
		a.Reasons = append(a.Reasons, "no DMARC record is published ("+pub.Err+"): receivers send no reports without one")
		return a
	case sum.DaysObserved < min(rule.MinDays, days):
		a.Verdict = NotEnoughData
		a.Reasons = append(a.Reasons, fmt.Sprintf("reports cover %d of the last %d days; the rule needs %d",
			sum.DaysObserved, days, min(rule.MinDays, days)))
		return a
	case sum.Messages < rule.MinMessages:
		a.Verdict = NotEnoughData
		a.Reasons = append(a.Reasons, fmt.Sprintf("reports cover %d messages; the rule needs %d", sum.Messages, rule.MinMessages))
		return a
	}
	a.Blockers = blockers(sum, rule)
	a.Reasons = append(a.Reasons, fmt.Sprintf("%s of %d messages passed DMARC over %d days",
		percent(sum.DMARCPass, sum.Messages), sum.Messages, sum.DaysObserved))
	if len(a.Blockers) > 0 {
		a.Verdict = NotReady
		for _, b := range a.Blockers {
			a.Reasons = append(a.Reasons, b.describe())
		}
		return a
	}
	a.Verdict = Ready
	a.Reasons = append(a.Reasons, fmt.Sprintf("no sender's failing mail reaches %.0f%% of the volume; what fails is scattered, as spoofing is", rule.BlockingShare*100))
	return a
}

// stage names the rollout step of the record and the next one
// (RFC 9989 §4.7 t=; RFC 7489 pct=).
func stage(pub Published) Advice {
	if !pub.Found {
		return Advice{Stage: "none", Next: "publish v=DMARC1; p=none; rua=mailto:<an inbound_reports address>"}
	}
	var partial []string
	if pub.Testing {
		partial = append(partial, "t=y")
	}
	if pub.Pct < 100 {
		partial = append(partial, fmt.Sprintf("pct=%d", pub.Pct))
	}
	a := Advice{Partial: strings.Join(partial, " ")}
	switch {
	case pub.P == "quarantine" && a.Partial != "":
		a.Stage, a.Next = "quarantine", "p=quarantine for all mail (drop "+a.Partial+")"
	case pub.P == "quarantine":
		a.Stage, a.Next = "quarantine", "p=reject"
	case pub.P == "reject" && a.Partial != "":
		a.Stage, a.Next = "reject", "p=reject for all mail (drop "+a.Partial+")"
	case pub.P == "reject":
		a.Stage, a.Next = "reject", "none: the rollout is complete; keep reading the reports"
	default:
		a.Stage, a.Next = "monitor", "p=quarantine"
	}
	return a
}

// blockers groups the failing mail by sender and keeps the large ones.
func blockers(sum *Summary, rule Rule) []Blocker {
	groups := map[string]*Blocker{}
	var order []string
	for _, src := range sum.Sources {
		failing := src.Messages - src.DMARCPass
		if failing == 0 {
			continue
		}
		key := src.Org
		if key == "" {
			key = src.IP
		}
		b := groups[key]
		if b == nil {
			b = &Blocker{Org: src.Org}
			groups[key] = b
			order = append(order, key)
		}
		b.Failing += failing
		b.Sources = append(b.Sources, src.IP)
		b.Domains = mergeDomains(b.Domains, src)
	}
	var out []Blocker
	for _, key := range order {
		b := groups[key]
		b.Share = float64(b.Failing) / float64(sum.Messages)
		if b.Share < rule.BlockingShare {
			continue
		}
		b.Sources = collapse(b.Sources)
		b.Evidence = evidence(sum, b)
		out = append(out, *b)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Failing > out[j].Failing })
	return out
}

// mergeDomains adds the domains a source authenticates as (SPF and DKIM
// passes, aligned or not), without repeats.
func mergeDomains(ds []string, src *SourceStat) []string {
	add := func(d string) {
		if d != "" && d != "other" && !contains(ds, d) {
			ds = append(ds, d)
		}
	}
	for _, k := range sortedKeys(src.SPF) {
		if d, res, _ := strings.Cut(k, "="); res == "pass" {
			add(d)
		}
	}
	for _, k := range sortedKeys(src.DKIM) {
		for _, pair := range strings.Fields(k) {
			if d, res, _ := strings.Cut(pair, "="); res == "pass" {
				add(d)
			}
		}
	}
	return ds
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func evidence(sum *Summary, b *Blocker) string {
	if len(b.Domains) > 0 {
		return "authenticates as " + strings.Join(b.Domains, ", ") + ", not aligned with " + sum.Domain +
			": sign with DKIM d=" + sum.Domain + " (or a subdomain) or use a return path in it"
	}
	return "passes neither SPF nor DKIM: if it is yours, add it to SPF or sign its mail"
}

func (b Blocker) describe() string {
	who := b.Org
	if who == "" {
		who = "a sender"
	}
	return fmt.Sprintf("%s at %s: %d messages failing DMARC, %.1f%% of the volume; it %s",
		who, strings.Join(b.Sources, ", "), b.Failing, b.Share*100, b.Evidence)
}

// maxNamed bounds the addresses a blocker names.
const maxNamed = 5

// collapse names a group's addresses: one range when they share a /24
// (IPv4) or /64 (IPv6), else the first few.
func collapse(ips []string) []string {
	sort.Strings(ips)
	if len(ips) > 1 {
		if r := sharedRange(ips); r != "" {
			return []string{r}
		}
	}
	if len(ips) > maxNamed {
		return append(ips[:maxNamed:maxNamed], fmt.Sprintf("and %d more", len(ips)-maxNamed))
	}
	return ips
}

func sharedRange(ips []string) string {
	var first *net.IPNet
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return ""
		}
		bits := 64
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 24
		}
		n := &net.IPNet{IP: ip.Mask(net.CIDRMask(bits, len(ip)*8)), Mask: net.CIDRMask(bits, len(ip)*8)}
		if first == nil {
			first = n
		} else if !first.IP.Equal(n.IP) || len(first.IP) != len(n.IP) {
			return ""
		}
	}
	return first.String()
}

func percent(n, of uint64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}
