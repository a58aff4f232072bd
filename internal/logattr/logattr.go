// Package logattr has slog attributes that format cheaply.
package logattr

import (
	"encoding/json"
	"log/slog"
	"strings"
)

// Strings is slog.Any(key, v) for a list of strings, written the same
// ("[a b]" by the text handler, a JSON array by the JSON one) without the
// fmt round trip slog takes for a slice: every message's log line lists
// its recipients and DKIM results.
func Strings(key string, v []string) slog.Attr {
	return slog.Any(key, stringList(v))
}

type stringList []string

// MarshalText is fmt's %+v of a []string.
func (l stringList) MarshalText() ([]byte, error) {
	n := 2
	for _, s := range l {
		n += len(s) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	return []byte(b.String()), nil
}

// MarshalJSON keeps the JSON handler's array (it prefers this to
// MarshalText).
func (l stringList) MarshalJSON() ([]byte, error) {
	return json.Marshal([]string(l))
}
