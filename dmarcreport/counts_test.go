package dmarcreport

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sampleCounts is the sum of the <count> elements of each sample, worked
// out apart from this parser (the XML extracted by other tools, its
// <count> values summed).
var sampleCounts = map[string]int64{
	"cry-inc/acme.xml":     2,
	"cry-inc/aol.xml":      1,
	"cry-inc/gmxnet.xml":   1,
	"cry-inc/google.xml":   1,
	"cry-inc/hardfail.xml": 1,
	"cry-inc/mailru.xml":   1,
	"cry-inc/outlook.xml":  3,
	"cry-inc/solamora.xml": 2,
	"cry-inc/webde.xml":    1,
	"cry-inc/yahoo.xml":    1,
	"parsedmarc/!example.com!1538204542!1538463818.xml":                                        1,
	"parsedmarc/addisonfoods.com!example.com!1536105600!1536191999.xml":                        1,
	"parsedmarc/empty_reason.xml":                                                              2,
	"parsedmarc/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip": 1,
	"parsedmarc/example.net!example.com!1529366400!1529452799.xml":                             1,
	"parsedmarc/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz":               1,
	"parsedmarc/google.com-report-borschow.com-949348866075514174.eml":                         1,
	"parsedmarc/ikea.com!example.de!1538690400!1538776800.xml":                                 1,
	"parsedmarc/mimecast-weird-gzip.eml":                                                       1,
	"parsedmarc/old_draft_from_wiki.xml":                                                       2,
	"parsedmarc/protection.outlook.com!example.com!1711756800!1711843200.xml":                  1,
	"parsedmarc/rfc9990-example.net!example.com!1700000000!1700086399.xml":                     7,
	"parsedmarc/rfc9990-sample.xml":                                                            123,
	"parsedmarc/twilight.eml":                                                                  1,
	"parsedmarc/usssa.com!example.com!1538784000!1538870399.xml":                               2,
	"parsedmarc/veeam.com!example.com!1530133200!1530219600.xml":                               1,
	// Upper-case enumerated values ("Pass"): unambiguous, read as written.
	"parsedmarc-invalid/report_with_upper_cased_pass.xml": 1,
}

var countElement = regexp.MustCompile(`<count>\s*(\d+)\s*</count>`)

// TestSampleCounts: each sample reads to exactly the messages its <count>
// elements add up to; the samples that are not XML are refused with a
// reason; none is left out of the table.
func TestSampleCounts(t *testing.T) {
	for _, path := range sampleFiles(t) {
		rel, _ := filepath.Rel(samplesDir, path)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			reps, err := ReadReportFile(path)
			if notWellFormed[rel] {
				if err == nil || !strings.Contains(err.Error(), filepath.Base(path)) {
					t.Fatalf("err = %v, want a refusal naming the file", err)
				}
				return
			}
			want, ok := sampleCounts[rel]
			if !ok {
				t.Fatal("sample missing from sampleCounts")
			}
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			for _, r := range reps {
				got += r.MessageCount()
			}
			if got != want {
				t.Errorf("%d messages, want %d", got, want)
			}
			if strings.HasSuffix(rel, ".xml") {
				raw, _ := os.ReadFile(path)
				var sum int64
				for _, m := range countElement.FindAllSubmatch(raw, -1) {
					n, _ := strconv.ParseInt(string(m[1]), 10, 64)
					sum += n
				}
				if sum != want {
					t.Errorf("table says %d, the file's <count> elements %d", want, sum)
				}
			}
		})
	}
}
