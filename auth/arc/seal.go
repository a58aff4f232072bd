package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"dmarcgate/auth"
)

// DefaultSignedHeaders are the fields an ARC-Message-Signature of ours
// covers when the message has them: what a reader sees and what DKIM
// signs (RFC 6376 §5.4.1). Trace and result fields are left out: they
// change on every hop.
var DefaultSignedHeaders = []string{
	"from", "reply-to", "sender", "subject", "date", "message-id", "to", "cc",
	"mime-version", "content-type", "content-transfer-encoding",
	"in-reply-to", "references", "list-id", "list-post", "list-unsubscribe",
	"dkim-signature",
}

// ErrNoSeal: the message must not get another ARC set.
var ErrNoSeal = errors.New("arc: no set may be added")

// Sealer adds one ARC set to a message (RFC 8617 §5.1): AAR, AMS
// (relaxed/relaxed, SHA-256) and AS, at the instance after the chain's.
type Sealer struct {
	Domain   string
	Selector string
	Key      crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
	// Headers the AMS signs when present; nil means DefaultSignedHeaders.
	Headers []string
	// Now gives the t= of the set; nil means time.Now.
	Now func() time.Time
}

// SealInput is what a set is made of.
type SealInput struct {
	// Header is the message's header block as relayed, without the
	// fields we add in front of it.
	Header []byte
	// BodyHash is the relaxed SHA-256 hash of the body, no l=
	// (NewBodyHasher(Relaxed, sha256.New(), -1)), taken while spooling.
	BodyHash []byte
	// AuthservID and Results are our assessment: the AAR carries them
	// (RFC 8617 §4.1.1); see SplitResults.
	AuthservID string
	Results    []string
	// Chain is how we validated the chain the message arrived with; it
	// becomes cv= (§4.1.3, §5.1.2).
	Chain Status
}

// Seal returns the three fields of the new set, CRLF-terminated, in the
// order they go on top of the header: ARC-Seal, ARC-Message-Signature,
// ARC-Authentication-Results. It returns ErrNoSeal for a chain whose
// newest seal says cv=fail (§5.1 step 1) or that has no instance left
// (§4.2.1).
func (s *Sealer) Seal(in SealInput) ([]byte, error) {
	fields := auth.HeaderFields(in.Header)
	top, topCV := newestInstance(fields)
	if topCV == string(Fail) {
		return nil, fmt.Errorf("%w: the newest ARC-Seal says cv=fail", ErrNoSeal)
	}
	if top >= MaxInstances {
		return nil, fmt.Errorf("%w: instance %d is the last", ErrNoSeal, top)
	}
	var prior []*Set
	cv := in.Chain
	switch {
	case top == 0:
		cv = None
	case cv == Pass:
		sets, err := collectSets(fields)
		if err != nil || len(sets) != top {
			cv = Fail // the caller's pass does not fit this header
		} else {
			prior = sets
		}
	default:
		cv = Fail
	}
	return s.seal(in, fields, top+1, cv, prior)
}

func (s *Sealer) seal(in SealInput, fields []auth.Field, inst int, cv Status, prior []*Set) ([]byte, error) {
	alg, sigLen, err := s.algorithm()
	if err != nil {
		return nil, err
	}
	t := strconv.FormatInt(s.now().Unix(), 10)
	i := strconv.Itoa(inst)
	aar := []byte(formatAAR(inst, in.AuthservID, in.Results))

	names := signedNames(fields, s.headers())
	amsTags := [][2]string{{"a", alg}, {"b", ""}, {"bh", base64.StdEncoding.EncodeToString(in.BodyHash)},
		{"c", "relaxed/relaxed"}, {"d", s.Domain}, {"h", strings.Join(names, ":")}, {"i", i}, {"s", s.Selector}, {"t", t}}
	var data []byte
	for _, f := range newFieldIndex(fields).pick(fields, names) {
		data = append(data, CanonHeader(f.Raw, Relaxed)...)
	}
	ams, err := s.signField(SignatureField, amsTags, sigLen, data)
	if err != nil {
		return nil, err
	}

	data = data[:0]
	for _, p := range prior { // none for cv=fail: §5.1.2
		for _, f := range []auth.Field{p.AAR, p.AMS, p.Seal} {
			data = append(data, CanonHeader(f.Raw, Relaxed)...)
		}
	}
	data = append(data, CanonHeader(aar, Relaxed)...)
	data = append(data, CanonHeader(ams, Relaxed)...)
	asTags := [][2]string{{"a", alg}, {"b", ""}, {"cv", string(cv)}, {"d", s.Domain}, {"i", i}, {"s", s.Selector}, {"t", t}}
	as, err := s.signField(SealField, asTags, sigLen, data)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(as)+len(ams)+len(aar))
	return append(append(append(out, as...), ams...), aar...), nil
}

// signField lays the field out with a stand-in b= of the signature's
// length, signs data followed by that field without b= (RFC 6376 §3.7),
// and lays it out again with the signature: the folding depends only on
// lengths, so the signed text is the one sent.
func (s *Sealer) signField(name string, tags [][2]string, sigLen int, data []byte) ([]byte, error) {
	bi := -1
	for j, t := range tags {
		if t[0] == "b" {
			bi = j
		}
	}
	tags[bi][1] = strings.Repeat("A", sigLen)
	draft := name + ": " + FoldTags(tags) + "\r\n"
	self := CanonHeader(StripSignature([]byte(draft)), Relaxed)
	data = append(data, self[:len(self)-2]...)
	sig, err := signData(s.Key, data)
	if err != nil {
		return nil, fmt.Errorf("arc: sealing: %w", err)
	}
	tags[bi][1] = base64.StdEncoding.EncodeToString(sig)
	return []byte(name + ": " + FoldTags(tags) + "\r\n"), nil
}

// algorithm is the a= of the key and the length of its signatures in
// base64.
func (s *Sealer) algorithm() (string, int, error) {
	switch k := s.Key.(type) {
	case ed25519.PrivateKey:
		return Ed25519SHA256, base64.StdEncoding.EncodedLen(ed25519.SignatureSize), nil
	case *rsa.PrivateKey:
		return RSASHA256, base64.StdEncoding.EncodedLen(k.Size()), nil
	}
	return "", 0, fmt.Errorf("arc: a %T key cannot seal", s.Key)
}

// signData signs the SHA-256 digest of data: RSASSA-PKCS1-v1_5, or
// PureEdDSA over the digest (RFC 8463 §3), as Verify checks.
func signData(key crypto.Signer, data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	if k, ok := key.(ed25519.PrivateKey); ok {
		return ed25519.Sign(k, digest[:]), nil
	}
	return key.Sign(rand.Reader, digest[:], crypto.SHA256)
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sealer) headers() []string {
	if s.Headers != nil {
		return s.Headers
	}
	return DefaultSignedHeaders
}

// signedNames lists each wanted name once per field of that name the
// header has, so that every such field is signed (RFC 6376 §5.4.2).
func signedNames(fields []auth.Field, want []string) []string {
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.Name)]++
	}
	var names []string
	for _, n := range want {
		n = strings.ToLower(n)
		for range min(count[n], 10) {
			names = append(names, n)
		}
		count[n] = 0 // a name listed twice in want is signed once per field
	}
	return names
}

// newestInstance is the highest instance among the ARC fields of a
// header, read leniently so that a malformed chain still gets the next
// one, and the cv= of that instance's seal.
func newestInstance(fields []auth.Field) (int, string) {
	top, cv := 0, ""
	for _, f := range fields {
		kind := arcKind(f.Name)
		if kind == "" {
			continue
		}
		var n int
		seal := Tags{}
		if kind == ResultsField {
			n, _, _, _ = parseAAR(f.Value())
		} else if t, err := ParseTags(f.Value()); err == nil {
			n, _ = strconv.Atoi(t.Value("i"))
			seal = t
		}
		if n > top {
			top, cv = n, ""
		}
		if n == top && kind == SealField {
			cv = seal.Value("cv")
		}
	}
	return top, cv
}
