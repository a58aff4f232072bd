package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"

	"dmarcgate/policy"
	"dmarcgate/resolver"
)

// SPF identity scopes (RFC 7208 §2.3, §2.4; RFC 9990 SPF scope).
const (
	ScopeMailFrom = "mfrom"
	ScopeHelo     = "helo"
)

// SPFOutcome is the SPF result for one identity.
type SPFOutcome struct {
	Result policy.Result
	// Domain is the domain checked: the MAIL FROM domain, or the HELO name
	// for the null sender.
	Domain string
	Scope  string // ScopeMailFrom or ScopeHelo
	// Err says why a result is none, temperror or permerror; for logs and
	// the Authentication-Results reason.
	Err string
}

// ToPolicy returns the result as policy.Evaluate takes it.
func (o SPFOutcome) ToPolicy() policy.SPFResult {
	return policy.SPFResult{Domain: o.Domain, Scope: o.Scope, Result: o.Result}
}

// SPF runs check_host() (RFC 7208 §4) for the MAIL FROM identity, or for
// the HELO identity when the reverse-path is null (RFC 7208 §2.4: the
// sender is then postmaster@helo). ctx bounds the whole check: RFC 7208
// §4.6.4 suggests at least 20 seconds.
func (c *Checker) SPF(ctx context.Context, ip net.IP, helo, mailFrom string) SPFOutcome {
	out := c.spf(ctx, ip, helo, mailFrom)
	countResult("spf", out.Result)
	return out
}

// SPFCached is SPF when every DNS answer the check needs is already
// cached; ok is false, and nothing is counted, when one is not (then SPF
// must run, with the network). A cached check costs microseconds: not
// worth a goroutine of its own.
func (c *Checker) SPFCached(ctx context.Context, ip net.IP, helo, mailFrom string) (out SPFOutcome, ok bool) {
	cacheCtx, missed := resolver.CacheOnly(ctx)
	out = c.spf(cacheCtx, ip, helo, mailFrom)
	if missed.Load() {
		return SPFOutcome{}, false
	}
	countResult("spf", out.Result)
	return out, true
}

func (c *Checker) spf(ctx context.Context, ip net.IP, helo, mailFrom string) SPFOutcome {
	local, rawDomain, scope := spfIdentity(helo, mailFrom)
	out := SPFOutcome{Scope: scope, Domain: strings.ToLower(strings.TrimSuffix(rawDomain, "."))}
	domain, err := normalizeDomain(rawDomain)
	// RFC 7208 §4.3: a malformed or single-label domain gives none without
	// any DNS query (this also covers a HELO address literal).
	if err != nil || !strings.Contains(domain, ".") {
		out.Result, out.Err = policy.None, "not a multi-label domain name"
		return out
	}
	out.Domain = domain
	if ip.To16() == nil {
		out.Result, out.Err = policy.PermError, "invalid client IP address"
		return out
	}
	// RFC 7208 §4.3: an empty local part becomes "postmaster".
	if local == "" {
		local = "postmaster"
	}
	// The library splits the sender at its first "@"; an "@" inside a
	// quoted local part must not move the domain.
	local = strings.ReplaceAll(local, "@", "%40")
	sr := &spfResolver{r: c.Resolver, ip: ip, budget: maxSPFQueries}
	res, serr := spf.CheckHostWithSender(ip, strings.TrimSpace(helo), local+"@"+domain,
		spf.WithResolver(sr), spf.WithContext(ctx))
	out.Result = spfResult(res)
	if serr != nil && out.Result != policy.Pass && !matchErr(serr) {
		out.Err = serr.Error()
	}
	if sr.budgetErr != "" {
		// RFC 7208 §4.6.4: a check past the DNS limits is permerror.
		out.Result, out.Err = policy.PermError, sr.budgetErr
	}
	if sr.syntaxErr != "" {
		// A record the check read is not SPF as RFC 7208 writes it: the
		// check ends in permerror, whatever the library made of it.
		out.Result, out.Err = policy.PermError, sr.syntaxErr
	}
	return out
}

// spfIdentity picks the identity: MAIL FROM, or postmaster@HELO for the
// null reverse-path (RFC 7208 §2.4) or one without a domain.
func spfIdentity(helo, mailFrom string) (local, domain, scope string) {
	mf := strings.TrimSpace(mailFrom)
	mf = strings.TrimSuffix(strings.TrimPrefix(mf, "<"), ">")
	if i := strings.LastIndexByte(mf, '@'); i >= 0 && i < len(mf)-1 {
		return mf[:i], mf[i+1:], ScopeMailFrom
	}
	return "postmaster", strings.TrimSpace(helo), ScopeHelo
}

// The library returns "matched ..." errors along with ordinary results;
// they are not failures worth reporting.
func matchErr(err error) bool {
	for _, m := range []error{spf.ErrMatchedAll, spf.ErrMatchedA, spf.ErrMatchedIP,
		spf.ErrMatchedMX, spf.ErrMatchedPTR, spf.ErrMatchedExists} {
		if errors.Is(err, m) {
			return true
		}
	}
	return false
}

// spfResult maps the seven RFC 7208 §2.6 results to the RFC 8601 words.
func spfResult(r spf.Result) policy.Result {
	switch r {
	case spf.Pass:
		return policy.Pass
	case spf.Fail:
		return policy.Fail
	case spf.SoftFail:
		return policy.SoftFail
	case spf.Neutral:
		return policy.Neutral
	case spf.None:
		return policy.None
	case spf.TempError:
		return policy.TempError
	}
	return policy.PermError
}

// spfResolver hands the library errors it can classify: it tells
// not-found and temporary errors apart only through a bare *net.DNSError
// (a type assertion, not errors.As), so anything else is converted. It
// serves one check: it checks the syntax of the SPF records it reads, asks
// for addresses of the client's family only (spf_family.go) and charges
// every query to the check's budget.
type spfResolver struct {
	r         resolver.Resolver
	ip        net.IP // the client: its family is the one looked up
	budget    int    // DNS queries this check may still send
	syntaxErr string // the first record read that breaks RFC 7208's grammar
	budgetErr string // set when the check ran out of budget
	sawExists bool   // a record read has an exists term (see LookupIPAddr)
	hosts     map[string]bool
}

func (s *spfResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	q, err := queryName(name)
	if err != nil {
		return nil, err
	}
	if err := s.charge(1, name); err != nil {
		return nil, err
	}
	v, err := s.r.LookupTXT(ctx, q)
	if err == nil {
		s.noteExists(v)
		if s.syntaxErr == "" {
			s.checkSyntax(name, v)
		}
	}
	return v, dnsError(err, name)
}

// checkSyntax notes a syntax error in name's SPF record, when it has
// exactly one (with more, or none, the library's result stands: permerror,
// or none).
func (s *spfResolver) checkSyntax(name string, txts []string) {
	record, n := pickSPFRecord(txts)
	if n != 1 {
		return
	}
	if why := spfSyntaxError(record); why != "" {
		s.syntaxErr = "SPF record of " + strings.TrimSuffix(name, ".") + ": " + why
	}
}

// isSPFRecord: the record starts with the version "v=spf1" as a whole
// term (RFC 7208 §4.5: "v=spf1" then a space or nothing).
func isSPFRecord(t string) bool {
	return len(t) >= 6 && strings.EqualFold(t[:6], "v=spf1") && (len(t) == 6 || t[6] == ' ')
}

// pickSPFRecord picks the SPF record among a name's TXT records; n is how
// many there are, and record the first.
func pickSPFRecord(txts []string) (record string, n int) {
	for _, t := range txts {
		if isSPFRecord(t) {
			if n == 0 {
				record = t
			}
			n++
		}
	}
	return record, n
}

// SPFRecords are the SPF records of domain, in DNS order (a check starts
// from the only one), and why they make the check permerror ("" when they
// do not): a syntax error, or more than one record (RFC 7208 §4.5). Both
// are empty when domain has none. err is for a failed lookup.
func (c *Checker) SPFRecords(ctx context.Context, domain string) (records []string, problem string, err error) {
	txts, err := c.Resolver.LookupTXT(ctx, domain)
	if err != nil {
		if resolver.IsNotFound(err) {
			return nil, "", nil
		}
		return nil, "", err
	}
	for _, t := range txts {
		if isSPFRecord(t) {
			records = append(records, t)
		}
	}
	switch {
	case len(records) > 1:
		return records, fmt.Sprintf("%d SPF records (RFC 7208 §4.5)", len(records)), nil
	case len(records) == 1:
		return records, spfSyntaxError(records[0]), nil
	}
	return nil, "", nil
}

func (s *spfResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	q, err := queryName(name)
	if err != nil {
		return nil, err
	}
	if err := s.charge(1, name); err != nil {
		return nil, err
	}
	v, err := s.r.LookupMX(ctx, q)
	for _, mx := range v {
		s.noteHost(mx.Host)
	}
	return v, dnsError(err, name)
}

func (s *spfResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if err := s.charge(1, addr); err != nil {
		return nil, err
	}
	v, err := s.r.LookupAddr(ctx, addr)
	for _, n := range v {
		s.noteHost(n)
	}
	return v, dnsError(err, addr)
}

// queryName prepares a name built by SPF macro expansion for the resolver.
// A name that cannot exist (an empty label, a label over 63 bytes, over
// 253 bytes in all: RFC 1035 §2.3.4) is not found, as a stub resolver
// would say, rather than an error that would read as temperror (RFC 7208
// §4.8 leaves fail or permerror to the verifier). Bytes that DNS
// presentation format escapes are escaped as miekg/dns prints them ("\ ",
// "\DDD"), so that the name on the wire is the name expanded and the
// question in the answer matches it.
func queryName(name string) (string, error) {
	trimmed := strings.TrimSuffix(name, ".")
	notFound := &net.DNSError{Err: "invalid domain name", Name: name, IsNotFound: true}
	if trimmed == "" || len(trimmed) > 253 {
		return "", notFound
	}
	var b strings.Builder
	for i, label := range strings.Split(trimmed, ".") {
		if len(label) == 0 || len(label) > 63 {
			return "", notFound
		}
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			switch {
			case strings.IndexByte(` ;()"'@\`, c) >= 0:
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < ' ' || c >= 0x7f:
				fmt.Fprintf(&b, "\\%03d", c)
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String(), nil
}

// dnsError returns err as a bare *net.DNSError with IsNotFound and
// IsTemporary set from the resolver's classification.
func dnsError(err error, name string) error {
	if err == nil {
		return nil
	}
	if de, ok := err.(*net.DNSError); ok {
		return de
	}
	return &net.DNSError{
		Err:         err.Error(),
		Name:        name,
		IsNotFound:  resolver.IsNotFound(err),
		IsTemporary: resolver.IsTemporary(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled),
	}
}
