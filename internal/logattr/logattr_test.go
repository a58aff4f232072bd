package logattr

import (
	"bytes"
	"log/slog"
	"testing"
)

// Strings writes what slog.Any writes for the same []string, in both
// handlers.
func TestStringsWritesWhatAnyWrites(t *testing.T) {
	for _, v := range [][]string{nil, {}, {"a@b.example"}, {"a@b.example", "c@d.example"},
		{`quo"te`, "sp ace", "ü", "x=y", ""}, {"line\nbreak"}} {
		for name, handler := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var want, got bytes.Buffer
			slog.New(handler(&want)).LogAttrs(t.Context(), slog.LevelInfo, "m", slog.Any("to", v))
			slog.New(handler(&got)).LogAttrs(t.Context(), slog.LevelInfo, "m", Strings("to", v))
			if w, g := dropTime(want.Bytes()), dropTime(got.Bytes()); !bytes.Equal(w, g) {
				t.Errorf("%s, %q:\n got %s\nwant %s", name, v, g, w)
			}
		}
	}
}

// dropTime cuts the time field, the one part of two lines that differs.
func dropTime(line []byte) []byte {
	if i := bytes.Index(line, []byte("level")); i >= 0 {
		return line[i:]
	}
	return line
}

func BenchmarkStrings(b *testing.B) {
	v := []string{"alice@example.org", "bob@example.org"}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	b.Run("Any", func(b *testing.B) {
		for range b.N {
			buf.Reset()
			l.LogAttrs(b.Context(), slog.LevelInfo, "m", slog.Any("to", v))
		}
	})
	b.Run("Strings", func(b *testing.B) {
		for range b.N {
			buf.Reset()
			l.LogAttrs(b.Context(), slog.LevelInfo, "m", Strings("to", v))
		}
	})
}
