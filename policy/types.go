// Package policy makes DMARC decisions (RFC 9989): it parses DMARC records,
// walks the DNS tree through an injected lookup function, and evaluates
// alignment and disposition. It does no I/O of its own: no net, no os, no
// clock, no randomness. Callers gather the evidence (package auth) and pass it in.
package policy

import "errors"

// Sentinel errors, checked with errors.Is. Discovery errors that mean "no
// policy applies" (an invalid record, several records) also match
// ErrNoRecord, so a caller that only knows ErrNoRecord treats them right.
var (
	ErrNoRecord      = errors.New("policy: no record")
	ErrInvalidRecord = errors.New("policy: invalid record")
	ErrMultiple      = errors.New("policy: several DMARC records at one name")
	// ErrTemporary wraps a lookup that failed temporarily (DMARC temperror).
	ErrTemporary = errors.New("policy: temporary DNS failure")
	// ErrLookup wraps a lookup that failed for good, neither "not found"
	// nor temporary (DMARC permerror).
	ErrLookup = errors.New("policy: DNS lookup failed")
	// ErrInvalidDomain is returned for a name that is not a domain name.
	ErrInvalidDomain = errors.New("policy: invalid domain name")
)

// Action is a policy request or a disposition: none, quarantine or reject.
type Action string

const (
	ActionNone       Action = "none"
	ActionQuarantine Action = "quarantine"
	ActionReject     Action = "reject"
)

// Alignment mode of adkim= / aspf= (RFC 9989 §4.7).
type Alignment string

const (
	Relaxed Alignment = "r"
	Strict  Alignment = "s"
)

// Result is a DMARC or mechanism result, in the RFC 8601 words.
type Result string

const (
	Pass      Result = "pass"
	Fail      Result = "fail"
	None      Result = "none"
	Neutral   Result = "neutral"
	SoftFail  Result = "softfail"
	Policy    Result = "policy"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// URI is one entry of rua= or ruf= (RFC 9989 §4.7). Only mailto: is delivered to.
type URI struct {
	Raw     string // as published
	Scheme  string // lower-case, e.g. "mailto", "https"
	Address string // for mailto: the addr-spec, percent-decoded
}

// Record is a parsed DMARC policy record (RFC 9989 §4.7).
type Record struct {
	Raw string
	// P is the policy for the policy domain itself. ParseRecord always sets
	// it: a record whose p= is absent or invalid (or whose sp= or np= is
	// invalid) but which has a valid rua= acts as p=none (RFC 9989 §4.10.1),
	// and PolicyFallback says so.
	P              Action
	PolicyFallback bool
	SP             Action    // "" when absent: inherits P
	NP             Action    // "" when absent: inherits SP, then P
	PSD            byte      // 'y', 'n' or 'u' (default 'u')
	T              bool      // t=y: testing mode
	ADKIM          Alignment // default Relaxed
	ASPF           Alignment // default Relaxed
	RUA            []URI
	RUF            []URI
	FO             []string // "0", "1", "d", "s"; default ["0"]; meaningful only with ruf= (RFC 9989 §4.7)
	// Legacy RFC 7489 pct=; HasPct is false when the tag is absent.
	Pct    int
	HasPct bool
}

// Discovery says how a policy was found (RFC 9989 §4.10).
type Discovery struct {
	Record       *Record
	PolicyDomain string // the name whose _dmarc record applies
	OrgDomain    string // organizational domain of the From domain
	Method       string // "treewalk" or "psl"
	Queries      int    // DNS queries the walk made
}

// LookupFunc fetches the TXT records at a name such as "_dmarc.example.com"
// (no trailing dot), one string per record with its character-strings
// already joined (RFC 9989 §4.5). It returns an error that the isNotFound /
// isTemporary functions handed to Discover classify; no records and no
// error also means "not found".
type LookupFunc func(name string) ([]string, error)

// SPFResult is the SPF result handed to Evaluate. DMARC uses only the MAIL
// FROM identity (RFC 9989 §3.2.4); for the null reverse-path that identity
// is postmaster@<HELO name> (RFC 7208 §2.4), so Domain is then the HELO name.
type SPFResult struct {
	Domain string // MAIL FROM domain, or HELO name for the null sender
	Scope  string // "mfrom" or "helo"
	Result Result
}

// DKIMResult is one verified (or failed) DKIM signature handed to Evaluate.
type DKIMResult struct {
	Domain   string // d=
	Selector string // s=
	Result   Result
	Reason   string // human reason on failure
}

// Override is a local exception ([[dmarc.override]]) that matched.
type Override struct {
	Action Action // disposition to apply instead
	Reason string // forwarded, mailing_list, trusted_forwarder, local_policy
	// Comment is free text for reports.
	Comment string
}

// Input is everything Evaluate needs; auth gathers it.
type Input struct {
	FromDomain string
	// OrgDomain returns the organizational domain of a name (from the tree
	// walk or the PSL, as configured); the caller caches.
	OrgDomain func(domain string) string
	// Discovery is the policy found; nil with PolicyErr set when none applies.
	Discovery *Discovery
	// PolicyErr is the error of Discover / DiscoverPSL, passed on as is:
	// ErrNoRecord (or ErrMultiple) gives none, ErrTemporary temperror, any
	// other error (ErrInvalidRecord, ErrLookup, ...) permerror.
	PolicyErr error
	// FromNonExistent: a query for the From domain answered NXDOMAIN, so the
	// name does not exist (RFC 9989 §3.2.13, RFC 8020) and np= may apply.
	FromNonExistent bool
	SPF             SPFResult
	DKIM            []DKIMResult
	Override        *Override
	Monitor         bool   // dmarc.mode = "monitor"
	LegacyPct       string // "testing" (default) or "sample"
	// SampleRoll is a number in [0,100) drawn by the caller for legacy
	// pct sampling; Evaluate applies the policy when SampleRoll < pct.
	SampleRoll int
	// ARC holds the sets of the message's ARC chain, oldest first, only
	// when the chain validated (a failed chain is no chain: RFC 8617 §5.2).
	ARC []ARCSet
	// TrustedSealers are the ARC-Seal d= domains whose recorded results
	// may stand in for a DMARC failure (arc.trusted_sealers).
	TrustedSealers []string
}

// ReasonType is a policy_evaluated reason (RFC 9990).
type ReasonType string

const (
	ReasonForwarded        ReasonType = "forwarded"
	ReasonSampledOut       ReasonType = "sampled_out"
	ReasonTrustedForwarder ReasonType = "trusted_forwarder"
	ReasonMailingList      ReasonType = "mailing_list"
	ReasonLocalPolicy      ReasonType = "local_policy"
	ReasonPolicyTestMode   ReasonType = "policy_test_mode"
	ReasonOther            ReasonType = "other"
)

// Reason explains why the disposition differs from the policy in force.
type Reason struct {
	Type    ReasonType
	Comment string
}

// Decision is Evaluate's verdict.
type Decision struct {
	Result      Result // pass, fail, none, temperror, permerror
	SPFAligned  bool
	DKIMAligned bool
	// AlignedDKIMDomain is the d= of the first aligned passing signature.
	AlignedDKIMDomain string
	// PolicyInForce is p, sp or np as selected for the From domain (none when no policy).
	PolicyInForce Action
	// Disposition is what we do: after t=, legacy pct, override and monitor mode.
	Disposition Action
	Reasons     []Reason
	// TrustedARC is the ARC set whose recorded results lowered the
	// disposition to none; nil when ARC did not matter.
	TrustedARC *ARCSet
	// Why is one short line for logs and the SMTP reply.
	Why string
}
