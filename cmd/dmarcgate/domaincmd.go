package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"dmarcgate/inbound"
	"dmarcgate/resolver"
)

// The domain owner's commands run in a running serve (control socket),
// or on the state directly without one.
func init() {
	ops["domain-status"] = opDomainStatus
	ops["domain-failures"] = opDomainFailures
	ops["reports-import"] = opReportsImport
}

// domainArgs travel to the operation as JSON in its one argument.
type domainArgs struct {
	Domain string `json:"domain"`
	Days   int    `json:"days"`
	JSON   bool   `json:"json"`
	Limit  int    `json:"limit"`
}

const domainUsage = "usage: dmarcgate domain status DOMAIN [--days N] [--json] | domain failures DOMAIN [--limit N] [--config FILE]"

func cmdDomain(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("domain")
	days := fs.Int("days", 30, "days of reports to read, ending today")
	asJSON := fs.Bool("json", false, "one JSON object, for scripts")
	limit := fs.Int("limit", 20, "failure samples shown")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "status" && pos[0] != "failures") {
		return usageError{domainUsage}
	}
	if *days < 1 || *days > 3660 || *limit < 1 {
		return usageError{"domain: --days must be 1..3660 and --limit positive"}
	}
	d := strings.TrimSuffix(strings.ToLower(pos[1]), ".")
	arg, _ := json.Marshal(domainArgs{Domain: d, Days: *days, JSON: *asJSON, Limit: *limit})
	return runOp(ctx, *path, "domain-"+pos[0], string(arg), stdout)
}

func opDomainStatus(ctx context.Context, a *app, w io.Writer, arg string) error {
	var da domainArgs
	if err := json.Unmarshal([]byte(arg), &da); err != nil || da.Domain == "" || da.Days < 1 {
		return fmt.Errorf("domain status: bad arguments %q", arg)
	}
	st, err := a.domainStatus(ctx, da.Domain, da.Days)
	if err != nil {
		return err
	}
	if da.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(w, st)
	return nil
}

// domainStatus is where domain stands after the last days of reports,
// for the command and the console alike.
func (a *app) domainStatus(ctx context.Context, domain string, days int) (*inbound.DomainStatus, error) {
	now := time.Now().UTC()
	sum, err := a.inbound.Query(domain, now.AddDate(0, 0, 1-days), now)
	if err != nil {
		return nil, err
	}
	lookupPTRs(ctx, a.res, sum.Sources)
	inbound.AssignOrgs(sum)
	return inbound.StatusOf(sum, days, a.published(ctx, domain), inbound.DefaultRule), nil
}

// published is the domain's DMARC record as our resolver finds it now.
func (a *app) published(ctx context.Context, domain string) inbound.Published {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := a.checker.Discover(ctx, domain)
	if err != nil {
		return inbound.Published{Err: err.Error()}
	}
	r := d.Record
	pub := inbound.Published{Found: true, P: string(r.P), SP: string(r.SP), Pct: 100, Testing: r.T, Record: r.Raw}
	if r.HasPct {
		pub.Pct = r.Pct
	}
	return pub
}

// ptrLookups bounds the reverse lookups one status makes (the largest
// sources that the reports name no host for), and ptrWait their time.
const (
	ptrLookups = 25
	ptrWait    = 5 * time.Second
)

func lookupPTRs(ctx context.Context, res *resolver.Client, sources []*inbound.SourceStat) {
	ctx, cancel := context.WithTimeout(ctx, ptrWait)
	defer cancel()
	for i, src := range sources {
		if i >= ptrLookups || ctx.Err() != nil {
			return
		}
		if names, err := res.LookupAddr(ctx, src.IP); err == nil && len(names) > 0 {
			src.PTR = strings.TrimSuffix(names[0], ".")
		}
	}
}

func opDomainFailures(_ context.Context, a *app, w io.Writer, arg string) error {
	var da domainArgs
	if err := json.Unmarshal([]byte(arg), &da); err != nil || da.Domain == "" {
		return fmt.Errorf("domain failures: bad arguments %q", arg)
	}
	samples, err := a.inbound.Failures(da.Domain, da.Limit)
	if err != nil {
		return err
	}
	if da.JSON {
		if samples == nil {
			samples = []inbound.FailureSample{}
		}
		return json.NewEncoder(w).Encode(samples)
	}
	if len(samples) == 0 {
		fmt.Fprintf(w, "no failure reports kept for %s\n", da.Domain)
	}
	for _, s := range samples {
		printSample(w, &s)
	}
	return nil
}
