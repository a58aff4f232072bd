package config

import (
	"fmt"
	"regexp"
	"strings"
)

// The TOML decoder names Go types ("cannot decode TOML integer into struct
// field config.SMTP.Listen of type []string"); a postmaster reads the
// file, not the code, so such messages are said in the file's terms.
var typeMismatch = regexp.MustCompile(`cannot decode TOML (\w+) into (?:struct field \S+ of )?type (\S+)`)

// plainTypeMessage rewrites a decoder message that names Go types.
func plainTypeMessage(msg string) string {
	m := typeMismatch.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	return fmt.Sprintf("%s given, want %s", tomlWord(m[1]), wantWord(m[2]))
}

func tomlWord(kind string) string {
	switch kind {
	case "integer":
		return "an integer"
	case "float", "string", "boolean":
		return "a " + kind
	case "array":
		return "a list"
	case "table", "inline-table":
		return "a table"
	}
	return "a " + strings.ReplaceAll(kind, "-", " ") + " value"
}

func wantWord(goType string) string {
	if elem, ok := strings.CutPrefix(goType, "[]"); ok {
		if elem == "string" {
			return "a list of strings"
		}
		return "a list of tables ([[...]])"
	}
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "config.Duration":
		return `a duration string like "30s"`
	case "float64", "float32":
		return "a number"
	}
	if strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint") {
		return "a whole number"
	}
	return "a table"
}
