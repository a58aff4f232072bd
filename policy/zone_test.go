package policy

import (
	"errors"
	"strings"
)

// zone is an in-memory DNS for the tree walk: TXT records by name, errors
// by name, and the names queried, in order.
type zone struct {
	txt     map[string][]string
	errs    map[string]error
	queries []string
}

var errNotFound = errors.New("test: no such name")

// tempError is how a resolver's temporary failure looks to the walk.
type tempError struct{ name string }

func (e *tempError) Error() string { return "test: timeout looking up " + e.name }

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

func isTemp(err error) bool {
	var t *tempError
	return errors.As(err, &t)
}

// newZone builds a zone from "name: record" lines; a name may repeat.
func newZone(lines ...string) *zone {
	z := &zone{txt: map[string][]string{}, errs: map[string]error{}}
	for _, l := range lines {
		name, rec, _ := strings.Cut(l, ": ")
		z.txt[name] = append(z.txt[name], rec)
	}
	return z
}

func (z *zone) lookup(name string) ([]string, error) {
	z.queries = append(z.queries, name)
	if err, ok := z.errs[name]; ok {
		return nil, err
	}
	if recs, ok := z.txt[name]; ok {
		return recs, nil
	}
	return nil, errNotFound
}

func (z *zone) discover(from string) (*Discovery, error) {
	return Discover(from, z.lookup, isNotFound, isTemp)
}

func (z *zone) org(domain string) (string, error) {
	return OrgDomainTreeWalk(domain, z.lookup, isNotFound, isTemp)
}
