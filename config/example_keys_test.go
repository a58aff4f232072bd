package config

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// structKeys lists the dotted key of every leaf field of t, as the
// decoder accepts it: tables and arrays of tables are walked into.
func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			keys = append(keys, structKeys(ft, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

var (
	exampleTable = regexp.MustCompile(`^#?\s*\[\[?([a-z0-9_.]+)\]\]?`)
	exampleKey   = regexp.MustCompile(`^#?\s*([a-z0-9_]+)\s*=`)
)

// exampleKeys lists the dotted keys config.example.toml shows, set or
// commented out ("# key = value" at the start of a line).
func exampleKeys(t *testing.T) []string {
	f, err := os.Open(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	table := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := exampleTable.FindStringSubmatch(line); m != nil {
			table = m[1] + "."
			continue
		}
		if m := exampleKey.FindStringSubmatch(line); m != nil {
			keys = append(keys, table+m[1])
		}
	}
	return keys
}

// config.example.toml is the reference a postmaster reads: it shows every
// key the decoder accepts, and none that it refuses.
func TestExampleShowsEveryKey(t *testing.T) {
	want := structKeys(reflect.TypeOf(Config{}), "")
	got := exampleKeys(t)
	if len(want) < 50 || len(got) < 50 {
		t.Fatalf("too few keys found: %d in Config, %d in the example", len(want), len(got))
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("config.example.toml does not show %s", k)
		}
	}
	for _, k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("config.example.toml shows %s, which config does not accept", k)
		}
	}
}
