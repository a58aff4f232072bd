package reporting

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// redactor replaces the local part of every address in a report sample with
// a keyed hash (RFC 6590 §4): the recipient of the report can still tell
// that two reports concern the same mailbox, but not which mailbox.
type redactor struct {
	key []byte
}

// addressPattern finds addr-specs in header text. The optional prefix keeps
// the property name of "smtp.mailfrom=user@domain" style tokens
// (Authentication-Results, Received-SPF) out of the local part.
var addressPattern = regexp.MustCompile(
	`(?i)((?:smtp\.[a-z]+|header\.[a-z]+|policy\.[a-z.-]+|envelope-from|x-sender)=)?` +
		`("[^"\r\n]{0,128}"|[^\s@<>()\[\]\\,;:"]{1,128})` +
		`@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)`)

// redactExempt lists fields kept as they are: message identifiers, which
// name no mailbox and let the domain owner find the message in its logs,
// and signatures, whose identities are the domain owner's own.
var redactExempt = map[string]bool{
	"message-id":            true,
	"in-reply-to":           true,
	"references":            true,
	"content-id":            true,
	"resent-message-id":     true,
	"dkim-signature":        true,
	"arc-message-signature": true,
	"arc-seal":              true,
}

// local returns the replacement of one local part.
func (r redactor) local(local string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(strings.ToLower(local)))
	return "redacted-" + hex.EncodeToString(m.Sum(nil)[:8])
}

// address redacts one bare address ("user@domain"); anything else is
// returned unchanged but for addresses found inside it.
func (r redactor) address(a string) string {
	return string(r.text([]byte(a)))
}

// text redacts every address in b.
func (r redactor) text(b []byte) []byte {
	return addressPattern.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := addressPattern.FindSubmatch(m)
		out := make([]byte, 0, len(m))
		out = append(out, sub[1]...)
		out = append(out, r.local(string(sub[2]))...)
		out = append(out, '@')
		return append(out, sub[3]...)
	})
}

// header redacts a header block field by field, leaving exempt fields
// alone. Folded continuation lines belong to the field before them.
func (r redactor) header(h []byte) []byte {
	var out bytes.Buffer
	exempt := false
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		if len(line) > 0 && line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			exempt = redactExempt[strings.ToLower(string(bytes.TrimSpace(name)))]
		}
		if exempt {
			out.Write(line)
			continue
		}
		out.Write(r.text(line))
	}
	return out.Bytes()
}
