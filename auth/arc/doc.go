// Package arc verifies and seals Authenticated Received Chains (RFC 8617):
// the ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results sets
// that intermediaries such as mailing lists add to the mail they forward.
//
// It gathers evidence and decides nothing: whether a sealer is trusted to
// override a DMARC failure is policy's decision. Key lookups go through the
// resolver.Resolver the caller hands in. The shared core (tag lists, DKIM
// canonicalisation, keys) is used by both the verifying and the sealing side.
package arc
