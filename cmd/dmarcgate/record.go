package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"text/tabwriter"

	"dmarcgate/auth"
	"dmarcgate/policy"
	"dmarcgate/resolver"
)

// cmdRecord explains the DMARC policy that applies to a domain, and the
// domain's SPF records. An address stands for its domain.
func cmdRecord(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("record")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: dmarcgate record DOMAIN|ADDRESS [--config FILE]"}
	}
	domain := recordDomain(pos[0])
	if domain == "" {
		return usageError{fmt.Sprintf("record: %q is neither a domain nor an address", pos[0])}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	_, checker, _, err := newEvaluator(cfg)
	if err != nil {
		return err
	}
	d, err := checker.Discover(ctx, domain)
	spf := spfLines(ctx, checker, domain)
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	defer tw.Flush()
	switch {
	case err != nil && resolver.IsTemporary(err):
		return fmt.Errorf("%s: DMARC lookup failed temporarily (temperror): %v", domain, err)
	case err != nil:
		fmt.Fprintf(tw, "domain:\t%s\nresult:\tno DMARC policy applies (%v)\nmethod:\t%s\n", domain, err, cfg.DMARC.OrgDomain)
		if errors.Is(err, policy.ErrInvalidRecord) {
			unusableRecords(ctx, tw, checker, domain)
		}
		fmt.Fprint(tw, spf)
		return nil
	}
	nx, nxErr := false, error(nil)
	if domain != d.PolicyDomain {
		nx, nxErr = checker.NonExistent(ctx, domain)
	}
	printDiscovery(tw, domain, d, nx, nxErr)
	fmt.Fprint(tw, spf)
	return nil
}

// recordDomain is the domain to look up for arg: a domain, or the domain
// of an address ("alice@example.org", "<alice@example.org>", or with a
// display name); "" when there is none.
func recordDomain(arg string) string {
	arg = strings.TrimSpace(arg)
	if strings.ContainsRune(arg, '@') {
		if a, err := mail.ParseAddress(arg); err == nil {
			arg = a.Address
		}
		arg = strings.Trim(arg, "<>")
		arg = arg[strings.LastIndexByte(arg, '@')+1:]
	}
	arg = strings.TrimSuffix(strings.ToLower(arg), ".")
	if arg == "" || strings.ContainsAny(arg, " \t<>@") {
		return ""
	}
	return arg
}

// unusableRecords shows the DMARC records a discovery skipped as invalid,
// at the domain and its organizational domain, with what is wrong in them.
func unusableRecords(ctx context.Context, tw io.Writer, checker *auth.Checker, domain string) {
	names := []string{domain}
	if org := checker.OrgDomain(ctx, domain); org != domain {
		names = append(names, org)
	}
	for _, name := range names {
		txts, err := checker.Resolver.LookupTXT(ctx, "_dmarc."+name)
		if err != nil {
			continue
		}
		for _, txt := range txts {
			if policy.IsDMARCRecord(txt) {
				fmt.Fprintf(tw, "record at _dmarc.%s:\t%s\n", name, txt)
				printProblems(tw, txt)
			}
		}
	}
}

// printProblems writes a line for each invalid tag value of a record.
func printProblems(tw io.Writer, txt string) {
	for _, p := range policy.RecordProblems(txt) {
		fmt.Fprintf(tw, "problem:\t%s\n", p)
	}
}

// spfLines say what SPF makes of domain's records, for the aligned
// output: every record (several make a check permerror), and why a check
// would end in permerror.
func spfLines(ctx context.Context, checker *auth.Checker, domain string) string {
	records, problem, err := checker.SPFRecords(ctx, domain)
	var b strings.Builder
	switch {
	case err != nil:
		return fmt.Sprintf("spf record:\tlookup failed: %v\n", err)
	case len(records) == 0:
		return "spf record:\tnone\n"
	}
	for _, r := range records {
		fmt.Fprintf(&b, "spf record:\t%s\n", r)
	}
	if problem != "" {
		fmt.Fprintf(&b, "spf:\tpermerror: %s\n", problem)
	}
	return b.String()
}

// printDiscovery writes the discovery's lines to tw, which aligns them.
func printDiscovery(tw io.Writer, domain string, d *policy.Discovery, nx bool, nxErr error) {
	r := d.Record
	fmt.Fprintf(tw, "domain:\t%s\n", domain)
	fmt.Fprintf(tw, "policy domain:\t%s (_dmarc.%s)\n", d.PolicyDomain, d.PolicyDomain)
	fmt.Fprintf(tw, "organizational domain:\t%s\n", d.OrgDomain)
	fmt.Fprintf(tw, "method:\t%s (%d DNS queries)\n", d.Method, d.Queries)
	fmt.Fprintf(tw, "record:\t%s\n", r.Raw)
	printProblems(tw, r.Raw)
	applies, tag := appliedPolicy(domain, d, nx)
	if nxErr != nil {
		fmt.Fprintf(tw, "existence check:\t%v\n", nxErr)
	}
	fmt.Fprintf(tw, "policy for %s:\t%s (from %s)\n", domain, applies, tag)
	fmt.Fprintf(tw, "p / sp / np:\t%s / %s / %s\n", orNone(r.P), orInherit(r.SP, "p"), orInherit(r.NP, "sp"))
	fmt.Fprintf(tw, "testing (t):\t%v\n", r.T)
	fmt.Fprintf(tw, "psd:\t%c\n", r.PSD)
	fmt.Fprintf(tw, "adkim / aspf:\t%s / %s\n", alignName(r.ADKIM), alignName(r.ASPF))
	fmt.Fprintf(tw, "fo:\t%s\n", strings.Join(r.FO, ":"))
	if r.HasPct {
		fmt.Fprintf(tw, "pct (legacy):\t%d\n", r.Pct)
	}
	fmt.Fprintf(tw, "rua:\t%s\n", uris(r.RUA))
	fmt.Fprintf(tw, "ruf:\t%s\n", uris(r.RUF))
}

// appliedPolicy names the tag that governs domain (RFC 9989 §4.7: p for the
// policy domain, sp for its subdomains, np for non-existent subdomains).
func appliedPolicy(domain string, d *policy.Discovery, nx bool) (policy.Action, string) {
	r := d.Record
	p := r.P
	if p == "" {
		p = policy.ActionNone
	}
	if domain == d.PolicyDomain {
		return p, "p"
	}
	sp := r.SP
	if sp == "" {
		sp = p
	}
	if nx && r.NP != "" {
		return r.NP, "np (domain does not exist)"
	}
	if nx {
		return sp, "sp (domain does not exist; no np)"
	}
	return sp, "sp"
}

func orNone(a policy.Action) string {
	if a == "" {
		return "none"
	}
	return string(a)
}

func orInherit(a policy.Action, from string) string {
	if a == "" {
		return "(" + from + ")"
	}
	return string(a)
}

func alignName(a policy.Alignment) string {
	if a == policy.Strict {
		return "strict"
	}
	return "relaxed"
}

func uris(list []policy.URI) string {
	if len(list) == 0 {
		return "(none)"
	}
	out := make([]string, len(list))
	for i, u := range list {
		out[i] = u.Raw
	}
	return strings.Join(out, ", ")
}
