package arc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"unicode"

	"dmarcgate/auth"
	"dmarcgate/resolver"
)

// Status is a chain validation status (RFC 8617 §4.4), the word that
// follows arc= in Authentication-Results (§10.1).
type Status string

const (
	None Status = "none"
	Pass Status = "pass"
	Fail Status = "fail"
)

// DefaultMaxLookups bounds the key lookups of one message's chain,
// whatever it holds: a legitimate chain has a few sealers, and a forged
// one must not make us query 50 domains.
const DefaultMaxLookups = 10

// maxHeaderWork bounds the octets of header fields one chain may make us
// canonicalize and hash: each seal covers every set below it, so the work
// grows with the square of the chain's length.
const maxHeaderWork = 4 << 20

// maxBodyHashers bounds the distinct body canonicalizations (c=, l=)
// hashed for one message; AMSs past them count as not validating when the
// oldest passing instance is sought.
const maxBodyHashers = 3

// Result is what a chain came to.
type Result struct {
	Status Status
	// Reason says why a chain failed, for logs and A-R comments.
	Reason string
	// Temporary: the failure was a key lookup that may succeed later.
	Temporary bool
	// Sets are the chain's sets in instance order 1..N (nil for none and
	// for a malformed chain).
	Sets []*Set
	// OldestPass is the lowest instance whose AMS, and every newer one,
	// still validates; 0 when all do (RFC 8617 §5.2 step 6). Pass only.
	OldestPass int
	// Lookups is how many key queries the chain cost.
	Lookups int
}

// Verifier validates ARC chains with keys from Resolver. MaxLookups zero
// means DefaultMaxLookups. It is safe for concurrent use.
type Verifier struct {
	Resolver   resolver.Resolver
	MaxLookups int
}

// Check is the validation of one message's chain: Begin with the header
// block, the body through Write, then Finish.
type Check struct {
	v       *Verifier
	fields  []auth.Field
	sets    []*Set
	err     error // the chain failed already (structure, cv)
	hashers []*bodyHash
	index   fieldIndex // built when an AMS is verified
}

// bodyHash is a body hasher shared by every AMS of one (c=, l=).
type bodyHash struct {
	canon string
	limit int64
	h     *BodyHasher
	sum   []byte
}

// Begin reads the header block of a message and checks the chain's
// structure, so that a malformed chain costs no body hashing and no DNS.
func (v *Verifier) Begin(header []byte) *Check {
	if !mayHaveARC(header) {
		return &Check{v: v} // most mail: no field list built for nothing
	}
	c := &Check{v: v, fields: auth.HeaderFields(header)}
	c.sets, c.err = collectSets(c.fields)
	if c.err == nil && c.sets != nil {
		c.err = checkSeals(c.sets)
	}
	if c.err == nil && c.sets != nil {
		c.err = c.prepareBody()
	}
	return c
}

// mayHaveARC reports whether a line of the header block starts, after
// any white space, with "ARC-" in any case: a cheap look before the fields
// are split. A folded line that starts so is a false positive, which
// costs only the split.
func mayHaveARC(header []byte) bool {
	for len(header) > 0 {
		line := bytes.TrimLeftFunc(header, unicode.IsSpace) // as auth.HeaderFields trims names
		if len(line) >= 4 && bytes.EqualFold(line[:4], []byte("arc-")) {
			return true
		}
		i := bytes.IndexByte(header, '\n')
		if i < 0 {
			return false
		}
		header = header[i+1:]
	}
	return false
}

// HasChain reports whether the message carries ARC fields at all.
func (c *Check) HasChain() bool { return c.sets != nil || c.err != nil }

// Write feeds body octets (after the empty line ending the header).
func (c *Check) Write(p []byte) (int, error) {
	for _, b := range c.hashers {
		_, _ = b.h.Write(p)
	}
	return len(p), nil
}

var _ io.Writer = (*Check)(nil)

// prepareBody parses the AMS of each instance and starts the body hashers
// they need, newest first: the newest is required, the others only tell
// the oldest passing instance.
func (c *Check) prepareBody() error {
	for i := len(c.sets) - 1; i >= 0; i-- {
		s := c.sets[i]
		sig, err := parseAMS(s.AMSTags)
		if err != nil {
			if i == len(c.sets)-1 {
				return fmt.Errorf("ARC-Message-Signature i=%d: %w", s.Instance, err)
			}
			break
		}
		if c.hasherFor(sig) == nil {
			h := &bodyHash{canon: sig.bodyCanon, limit: sig.limit}
			if len(c.hashers) == maxBodyHashers {
				break
			}
			h.h = NewBodyHasher(sig.bodyCanon, sha256.New(), sig.limit)
			c.hashers = append(c.hashers, h)
		}
	}
	return nil
}

func (c *Check) hasherFor(sig *amsSig) *bodyHash {
	for _, h := range c.hashers {
		if h.canon == sig.bodyCanon && h.limit == sig.limit {
			return h
		}
	}
	return nil
}

// Finish validates the chain (RFC 8617 §5.2) once the body is written.
func (c *Check) Finish(ctx context.Context) Result {
	if c.err != nil {
		return Result{Status: Fail, Reason: c.err.Error()}
	}
	if c.sets == nil {
		return Result{Status: None}
	}
	for _, h := range c.hashers {
		h.sum = h.h.Sum()
	}
	run := &run{c: c, ctx: ctx, keys: map[string]keyAnswer{}, maxLookups: c.v.maxLookups()}
	n := len(c.sets)
	res := Result{Status: Fail}
	err := run.verifyAMS(c.sets[n-1]) // step 4
	for i := n - 1; err == nil && i >= 0; i-- {
		err = run.verifySeal(i) // step 7, before the optional step 5
	}
	res.Lookups = run.lookups
	if err != nil {
		res.Reason = err.Error()
		res.Temporary = errors.Is(err, ErrKeyTemporary)
		return res
	}
	res.Status, res.Sets = Pass, c.sets
	res.OldestPass = run.oldestPass()
	res.Lookups = run.lookups
	return res
}

func (v *Verifier) maxLookups() int {
	if v.MaxLookups <= 0 {
		return DefaultMaxLookups
	}
	return v.MaxLookups
}

// Verify validates the chain of a whole message held in memory.
func (v *Verifier) Verify(ctx context.Context, msg []byte) Result {
	end := auth.HeaderEnd(msg)
	if end < 0 {
		end = len(msg)
	}
	c := v.Begin(msg[:end])
	_, _ = c.Write(msg[end:])
	return c.Finish(ctx)
}

// checkSeals checks the cv= of every seal (RFC 8617 §5.2 steps 2 and 3):
// the newest set must not record a failure, the first says none and every
// later one pass.
func checkSeals(sets []*Set) error {
	n := len(sets)
	if cv := sets[n-1].SealTags.Value("cv"); cv == string(Fail) {
		return fmt.Errorf("ARC-Seal i=%d records a failed chain (cv=fail)", n)
	}
	for i, s := range sets {
		want := Pass
		if i == 0 {
			want = None
		}
		if cv := s.SealTags.Value("cv"); cv != string(want) {
			return structural("ARC-Seal i=%d has cv=%s, not %s", s.Instance, cv, want)
		}
	}
	return nil
}

// SealBody returns the hasher of the body that a set of ours signs
// (relaxed, whole body, SHA-256), sharing the chain's when its AMSs use
// the same: the body is hashed once however many need it. Call it before
// the body is written; Sum it after Finish.
func (c *Check) SealBody() *BodyHasher {
	for _, h := range c.hashers {
		if h.canon == Relaxed && h.limit < 0 {
			return h.h
		}
	}
	h := &bodyHash{canon: Relaxed, limit: -1, h: NewBodyHasher(Relaxed, sha256.New(), -1)}
	c.hashers = append(c.hashers, h)
	return h.h
}
