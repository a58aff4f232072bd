package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"dmarcgate/auth"
	"dmarcgate/policy"
	"dmarcgate/resolver"
)

// cmdRecord explains the DMARC policy that applies to a domain.
func cmdRecord(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("record")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: dmarcgate record DOMAIN [--config FILE]"}
	}
	domain := strings.TrimSuffix(strings.ToLower(pos[0]), ".")
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	_, checker, _, err := newEvaluator(cfg)
	if err != nil {
		return err
	}
	d, err := checker.Discover(ctx, domain)
	spf := spfLine(ctx, checker, domain)
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	defer tw.Flush()
	switch {
	case err != nil && resolver.IsTemporary(err):
		return fmt.Errorf("%s: DMARC lookup failed temporarily (temperror): %v", domain, err)
	case err != nil:
		fmt.Fprintf(tw, "domain:\t%s\nresult:\tno DMARC policy applies (%v)\nmethod:\t%s\n", domain, err, cfg.DMARC.OrgDomain)
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

// spfLine says what SPF makes of domain's record, for the aligned output:
// the record, and why a check would end in permerror.
func spfLine(ctx context.Context, checker *auth.Checker, domain string) string {
	record, problem, err := checker.SPFRecord(ctx, domain)
	switch {
	case err != nil:
		return fmt.Sprintf("spf record:\tlookup failed: %v\n", err)
	case record == "":
		return "spf record:\tnone\n"
	case problem != "":
		return fmt.Sprintf("spf record:\t%s\nspf:\tpermerror: %s\n", record, problem)
	}
	return fmt.Sprintf("spf record:\t%s\n", record)
}

// printDiscovery writes the discovery's lines to tw, which aligns them.
func printDiscovery(tw io.Writer, domain string, d *policy.Discovery, nx bool, nxErr error) {
	r := d.Record
	fmt.Fprintf(tw, "domain:\t%s\n", domain)
	fmt.Fprintf(tw, "policy domain:\t%s (_dmarc.%s)\n", d.PolicyDomain, d.PolicyDomain)
	fmt.Fprintf(tw, "organizational domain:\t%s\n", d.OrgDomain)
	fmt.Fprintf(tw, "method:\t%s (%d DNS queries)\n", d.Method, d.Queries)
	fmt.Fprintf(tw, "record:\t%s\n", r.Raw)
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
