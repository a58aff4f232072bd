package config

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

var indexSuffix = regexp.MustCompile(`\[\d+\]`)

// lineOf finds the line of a dotted key ("dmarc.mode") in a TOML document so
// that validation errors can point at it; 0 when it is not written there.
func lineOf(data []byte, key string) int {
	key = indexSuffix.ReplaceAllString(key, "")
	table, leaf := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, leaf = key[:i], key[i+1:]
	}
	current, n := "", 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			current = strings.TrimSpace(strings.Trim(line, "[] \t"))
			if current == key {
				return n
			}
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if ok && current == table && strings.TrimSpace(name) == leaf {
			return n
		}
	}
	return 0
}
