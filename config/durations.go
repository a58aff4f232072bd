package config

import (
	"fmt"
	"reflect"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

var durationType = reflect.TypeOf(Duration{})

// unquotedDuration finds a duration written as a number (timeout = 60):
// the decoder reports that without the key, so the document is read again,
// untyped, and the Duration fields of t are looked up in it. nil when none
// is found.
func unquotedDuration(data []byte) *Error {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return nil
	}
	e := findUnquotedDuration(reflect.TypeOf(Config{}), doc, "")
	if e != nil {
		e.Line = lineOf(data, e.Key)
	}
	return e
}

func findUnquotedDuration(t reflect.Type, doc map[string]any, prefix string) *Error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		v, ok := doc[name]
		if name == "" || !ok {
			continue
		}
		key := prefix + name
		switch {
		case f.Type == durationType:
			if _, quoted := v.(string); !quoted {
				return &Error{Key: key, Msg: fmt.Sprintf("a duration is written in quotes with its unit (like \"30s\" or \"24h\"), not %v", v)}
			}
		case f.Type.Kind() == reflect.Struct:
			if sub, ok := v.(map[string]any); ok {
				if e := findUnquotedDuration(f.Type, sub, key+"."); e != nil {
					return e
				}
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			items, _ := v.([]any)
			for j, item := range items {
				if sub, ok := item.(map[string]any); ok {
					if e := findUnquotedDuration(f.Type.Elem(), sub, fmt.Sprintf("%s[%d].", key, j)); e != nil {
						return e
					}
				}
			}
		}
	}
	return nil
}
