package reporting

import (
	"os"
	"path/filepath"
	"testing"
)

// The report samples in the repository's testdata (testdata/README.md).
const (
	samplesDir     = "../testdata/dmarc-aggregate/samples"
	failureSamples = "../testdata/dmarc-failure"
)

func readFailureSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(failureSamples, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return b
}

// arfField is dmarcreport.ARFField for unkeyed literals in tables.
type arfField struct{ Name, Value string }
