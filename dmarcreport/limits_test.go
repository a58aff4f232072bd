package dmarcreport

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// A small valid report, the payload the wrappers below carry.
const tinyReport = `<feedback><report_metadata><org_name>r</org_name><report_id>1</report_id>` +
	`<date_range><begin>1</begin><end>2</end></date_range></report_metadata>` +
	`<policy_published><domain>a.example</domain><p>none</p></policy_published>` +
	`<record><row><source_ip>192.0.2.1</source_ip><count>3</count></row>` +
	`<identifiers><header_from>a.example</header_from></identifiers></record></feedback>`

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// zipped makes an archive of the given members (name, content).
func zipped(t testing.TB, members ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.Create(m[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1])
	}
	zw.Close()
	return b.Bytes()
}

// bombs makes a gzip file and a zip archive of mb MiB of zeros each. The
// deflate stream is one MiB compressed once and repeated: blocks ended by
// a sync flush refer to nothing before them, so they chain.
func bombs(t testing.TB, mb int) (gz, zp []byte) {
	t.Helper()
	var block bytes.Buffer
	fw, _ := flate.NewWriter(&block, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	raw := append(bytes.Repeat(block.Bytes(), mb), 0x03, 0x00) // a final empty block
	size := uint32(mb << 20)
	crc := crc32.NewIEEE()
	for range mb {
		crc.Write(make([]byte, 1<<20))
	}
	gz = append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, raw...)
	gz = binary.LittleEndian.AppendUint32(gz, crc.Sum32())
	gz = binary.LittleEndian.AppendUint32(gz, size)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "bomb.xml", Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(size)})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	zw.Close()
	return gz, b.Bytes()
}

func TestWrappersCarryTheReport(t *testing.T) {
	mail := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/gzip\r\n\r\n" + string(gzipped(t, []byte(tinyReport))) + "\r\n--b--\r\n"
	for name, data := range map[string][]byte{
		"xml":          []byte(tinyReport),
		"gzip":         gzipped(t, []byte(tinyReport)),
		"zip":          zipped(t, [2]string{"r.xml", tinyReport}),
		"gzip in zip":  zipped(t, [2]string{"r.xml.gz", string(gzipped(t, []byte(tinyReport)))}),
		"gzip in mail": []byte(mail),
	} {
		reps, err := ReadReport(data)
		if err != nil || len(reps) != 1 || reps[0].MessageCount() != 3 {
			t.Errorf("%s: %d reports, %v", name, len(reps), err)
		}
	}
}

// TestLimits: every bound of the parsers holds, with an error that says
// which, and no panic.
func TestLimits(t *testing.T) {
	gzBomb, zipBomb := bombs(t, maxReportBytes/(1<<20)+1)

	deepGzip := []byte(tinyReport)
	for range maxNesting + 2 {
		deepGzip = gzipped(t, deepGzip)
	}
	var many [][2]string
	for i := range maxZipEntries + 1 {
		many = append(many, [2]string{fmt.Sprintf("r%d.xml", i), tinyReport})
	}
	var parts strings.Builder
	parts.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range maxMIMEParts + 1 {
		parts.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	parts.WriteString("--b--\r\n")
	huge := append([]byte("<feedback><report_metadata><org_name>"), bytes.Repeat([]byte("a"), maxReportBytes)...)

	tests := []struct {
		name, data, want string
	}{
		{"gzip bomb", string(gzBomb), "expands past"},
		{"zip bomb", string(zipBomb), "expands past"},
		{"gzip nested too deep", string(deepGzip), "nested too deep"},
		{"zip of too many members", string(zipped(t, many...)), "members"},
		{"too many MIME parts", parts.String(), "MIME parts"},
		// Unknown elements are skipped without recursion, however deep.
		{"XML nested too deep", "<feedback>" + strings.Repeat("<a>", 20000) + strings.Repeat("</a>", 20000) + "</feedback>", "empty <feedback>"},
		{"XML too large", string(huge), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReport([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestDamagedKeepsNothing: a report cut short or broken anywhere is
// refused whole, never read up to the damage.
func TestDamagedKeepsNothing(t *testing.T) {
	two := strings.Replace(tinyReport, "</feedback>",
		`<record><row><source_ip>192.0.2.2</source_ip><count>5</count></row></record></feedback>`, 1)
	cut := two[:strings.LastIndex(two, "<record>")+20]
	gz := gzipped(t, []byte(two))
	tests := map[string][]byte{
		"XML cut after a record":     []byte(cut),
		"XML broken in a record":     []byte(strings.Replace(two, "<count>5</count>", "<count>5</cnt>", 1)),
		"gzip cut short":             gz[:len(gz)-12],
		"gzip of a cut XML":          gzipped(t, []byte(cut)),
		"zip with one broken member": zipped(t, [2]string{"a.xml", tinyReport}, [2]string{"b.xml", cut}),
		"mail with one broken attachment": []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/xml\r\n\r\n" + tinyReport + "\r\n" +
			"--b\r\nContent-Type: text/xml\r\n\r\n" + cut + "\r\n--b--\r\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			reps, err := ReadReport(data)
			if err == nil || reps != nil {
				t.Fatalf("got %d reports, err %v; want nothing and an error", len(reps), err)
			}
			if errors.Is(err, ErrNotReport) && !strings.Contains(name, "zip") {
				t.Logf("refused as not a report: %v", err)
			}
		})
	}
}
