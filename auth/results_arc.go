package auth

import (
	"strconv"
	"strings"
)

// ARCResult is the arc= method of our Authentication-Results (RFC 8617
// §10.2): the chain's status, the oldest instance whose AMS validates,
// and the address the message came from.
type ARCResult struct {
	Result     string // pass, fail or none
	OldestPass int    // meaningful for pass
	RemoteIP   string
}

func (r Results) arcWords() []string {
	a := r.ARC
	if a == nil || a.Result == "" {
		return nil
	}
	words := []string{"arc=" + keyword(a.Result)}
	if a.Result == "pass" {
		words = append(words, "header.oldest-pass="+strconv.Itoa(a.OldestPass))
	}
	if a.RemoteIP != "" {
		words = append(words, "smtp.remote-ip="+pvalue(a.RemoteIP))
	}
	return words
}

// trustedARCComment says, inside the dmarc comment, why a DMARC failure
// was delivered: the trusted sealer whose recorded results stood in.
func (r Results) trustedARCComment() string {
	s := r.DMARC.TrustedARC
	if s == nil {
		return ""
	}
	return "; trusted ARC sealer " + commentSafe(s.Sealer) + " i=" + strconv.Itoa(s.Instance)
}

// commentSafe keeps a domain's characters fit for an RFC 5322 comment.
func commentSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			return c
		}
		return '?'
	}, truncate(s))
}
