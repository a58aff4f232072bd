package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samplesDir = "../testdata/dmarc-aggregate/samples"

// notWellFormed are the samples that are not XML at all (testdata README).
var notWellFormed = map[string]bool{
	"parsedmarc-invalid/invalid_utf_8.xml": true,
	"parsedmarc-invalid/invalid_xml.xml":   true,
}

func sampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(samplesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("samples not found at %s: %v", samplesDir, err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d sample files found in %s", len(files), samplesDir)
	}
	return files
}

func TestReadEverySample(t *testing.T) {
	for _, path := range sampleFiles(t) {
		rel, _ := filepath.Rel(samplesDir, path)
		t.Run(rel, func(t *testing.T) {
			reps, err := ReadReportFile(path)
			if notWellFormed[filepath.ToSlash(rel)] {
				if err == nil {
					t.Fatalf("parsed a file that is not well-formed XML")
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadReportFile: %v", err)
			}
			if len(reps) == 0 {
				t.Fatal("no report")
			}
			for _, r := range reps {
				if r.Policy.Domain == "" && r.Metadata.ReportID == "" {
					t.Errorf("report without policy domain and report_id: %+v", r.Metadata)
				}
				if len(r.Records) == 0 {
					t.Errorf("no records")
				}
				if r.Metadata.DateRange.Begin <= 0 || r.Metadata.DateRange.End < r.Metadata.DateRange.Begin {
					t.Errorf("bad date range %+v", r.Metadata.DateRange)
				}
			}
		})
	}
}

func TestParseSampleFields(t *testing.T) {
	tests := []struct {
		file      string
		namespace string
		domain    string
		reportID  string
		records   int
		messages  int64
		check     func(t *testing.T, r *AggregateReport)
	}{
		{file: "parsedmarc/rfc9990-sample.xml", namespace: Namespace, domain: "example.com",
			reportID: "3v98abbp8ya9n3va8yr8oa3ya", records: 1, messages: 123,
			check: func(t *testing.T, r *AggregateReport) {
				rec := r.Records[0]
				if rec.Row.SourceIP != "192.0.2.123" || rec.Row.PolicyEvaluated.Disposition != "pass" {
					t.Errorf("row = %+v", rec.Row)
				}
				if len(rec.AuthResults.DKIM) != 1 || rec.AuthResults.DKIM[0].Selector != "abc123" {
					t.Errorf("dkim = %+v", rec.AuthResults.DKIM)
				}
				if r.Policy.DiscoveryMethod != "treewalk" || r.Policy.Testing != "n" || r.Policy.NP != "none" {
					t.Errorf("policy = %+v", r.Policy)
				}
			}},
		{file: "cry-inc/webde.xml", namespace: Namespace, domain: "foobar.com", records: 1,
			reportID: "a3345c7cb5fd4f26aa62144bf449a54b", messages: 1},
		{file: "cry-inc/outlook.xml", domain: "", records: 2, check: func(t *testing.T, r *AggregateReport) {
			if r.Records[0].Identifiers.EnvelopeTo == "" {
				t.Errorf("envelope_to not read: %+v", r.Records[0].Identifiers)
			}
			if r.Policy.Pct == "" {
				t.Errorf("legacy pct not read")
			}
		}},
		{file: "cry-inc/yahoo.xml", check: func(t *testing.T, r *AggregateReport) {
			if strings.ContainsAny(r.Metadata.OrgName, " \t\n") {
				t.Errorf("org_name not trimmed: %q", r.Metadata.OrgName)
			}
		}},
		{file: "parsedmarc/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz", domain: "indemed.com"},
		{file: "parsedmarc/mimecast-weird-gzip.eml"},
		{file: "parsedmarc/google.com-report-borschow.com-949348866075514174.eml", domain: "borschow.com",
			reportID: "949348866075514174"},
		{file: "parsedmarc/ikea.com!example.de!1538690400!1538776800.xml", domain: "example.de"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			reps, err := ReadReportFile(filepath.Join(samplesDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) != 1 {
				t.Fatalf("%d reports", len(reps))
			}
			r := reps[0]
			if r.Namespace != tc.namespace {
				t.Errorf("namespace = %q, want %q", r.Namespace, tc.namespace)
			}
			if tc.domain != "" && r.Policy.Domain != tc.domain {
				t.Errorf("domain = %q, want %q", r.Policy.Domain, tc.domain)
			}
			if tc.reportID != "" && r.Metadata.ReportID != tc.reportID {
				t.Errorf("report_id = %q, want %q", r.Metadata.ReportID, tc.reportID)
			}
			if tc.records != 0 && len(r.Records) != tc.records {
				t.Errorf("%d records, want %d", len(r.Records), tc.records)
			}
			if tc.messages != 0 && r.MessageCount() != tc.messages {
				t.Errorf("%d messages, want %d", r.MessageCount(), tc.messages)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestParseAggregateErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		notReport bool
	}{
		{"empty", "", true},
		{"not xml", "hello", true},
		{"other root", "<html><body/></html>", true},
		{"unclosed", "<feedback><report_metadata>", false},
		{"bad count", "<feedback><record><row><count>many</count></row></record></feedback>", false},
		{"negative count", "<feedback><record><row><count>-1</count></row></record></feedback>", false},
		{"empty feedback", "<feedback></feedback>", true},
		{"bad utf8", "<feedback><report_metadata><org_name>\x91x</org_name></report_metadata></feedback>", false},
		{"unknown charset", `<?xml version="1.0" encoding="EBCDIC"?><feedback/>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAggregate(strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.notReport != errors.Is(err, ErrNotReport) {
				t.Errorf("errors.Is(err, ErrNotReport) = %v for %v", !tc.notReport, err)
			}
		})
	}
}

func TestParseLatin1(t *testing.T) {
	in := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><feedback><report_metadata><org_name>Caf\xe9</org_name><report_id>1</report_id></report_metadata></feedback>"
	r, err := ParseAggregate(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Metadata.OrgName != "Café" {
		t.Errorf("org_name = %q", r.Metadata.OrgName)
	}
}

func TestReadReportWrappers(t *testing.T) {
	xmlData, err := os.ReadFile(filepath.Join(samplesDir, "parsedmarc/rfc9990-sample.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xmlData)
	zw.Close()
	gzTrailing := append(bytes.Clone(gz.Bytes()), "\r\n"...)
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"xml", xmlData, true},
		{"gzip", gz.Bytes(), true},
		{"gzip with trailing bytes", gzTrailing, true},
		{"truncated gzip", gz.Bytes()[:len(gz.Bytes())/2], false},
		{"zip that is not one", []byte("PK\x03\x04garbage"), false},
		{"binary junk", []byte{0, 1, 2, 3}, false},
		{"mail without attachment", []byte("Subject: hi\r\n\r\nhello\r\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reps, err := ReadReport(tc.data)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && reps[0].MessageCount() != 123 {
				t.Errorf("count = %d", reps[0].MessageCount())
			}
		})
	}
}

func FuzzParseAggregate(f *testing.F) {
	f.Add([]byte(`<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><report_metadata><report_id>x</report_id></report_metadata><record><row><source_ip>192.0.2.1</source_ip><count>2</count></row></record></feedback>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><feedback><policy_published><domain>a</domain></policy_published></feedback>`))
	f.Add([]byte(`<x><feedback><record/></feedback>`))
	f.Add([]byte("<feedback><report_metadata><org_name>\x91</org_name></report_metadata></feedback>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseAggregate(bytes.NewReader(data))
		if err == nil && r == nil {
			t.Fatal("nil report without error")
		}
	})
}

func FuzzReadReport(f *testing.F) {
	f.Add([]byte("Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAA/w==\r\n"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/xml\r\n\r\n<feedback><record/></feedback>\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reps, err := ReadReport(data)
		if err == nil && len(reps) == 0 {
			t.Fatal("no report and no error")
		}
	})
}
