package dmarcreport

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
)

// maxNesting bounds how deep wrappers may nest (mail in zip in mail...).
const maxNesting = 4

// maxZipEntries bounds the members of one archive.
const maxZipEntries = 32

// maxMIMEParts bounds the parts of one multipart entity.
const maxMIMEParts = 64

// ReadReportFile reads the aggregate reports in a file as receivers send
// them: plain XML, gzip, zip, or a mail message (.eml) with such an
// attachment (RFC 9990 §2.5.1).
func ReadReportFile(path string) ([]*AggregateReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: reading %s: %w", path, err)
	}
	reps, err := ReadReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return reps, nil
}

// ReadReport is ReadReportFile for bytes in memory.
func ReadReport(data []byte) ([]*AggregateReport, error) {
	if len(data) > maxReportBytes {
		return nil, fmt.Errorf("dmarcreport: input larger than %d bytes", maxReportBytes)
	}
	return unwrap(data, 0)
}

// unwrap recognises the container by its content, not its name.
func unwrap(data []byte, depth int) ([]*AggregateReport, error) {
	if depth > maxNesting {
		return nil, errors.New("dmarcreport: wrappers nested too deep")
	}
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		inner, err := Gunzip(data)
		if err != nil {
			return nil, err
		}
		return unwrap(inner, depth+1)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return unzip(data, depth)
	case looksLikeXML(data):
		rep, err := ParseAggregate(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return []*AggregateReport{rep}, nil
	default:
		return fromMail(data, depth)
	}
}

// looksLikeXML: the first non-blank byte (after any BOM) opens a tag.
func looksLikeXML(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '<'
}

// Gunzip reads the first gzip member only: some senders append stray bytes
// (a CRLF) that a multistream reader would take for a broken second member.
func Gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: gzip: %w", err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(io.LimitReader(zr, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: gzip: %w", err)
	}
	if len(out) > maxReportBytes {
		return nil, fmt.Errorf("dmarcreport: gzip expands past %d bytes", maxReportBytes)
	}
	return out, nil
}

func unzip(data []byte, depth int) ([]*AggregateReport, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: zip: %w", err)
	}
	var out []*AggregateReport
	// More members than that is refused, not cut short: a report read in
	// part would keep some of what it says and lose the rest unseen.
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("dmarcreport: zip has %d members, more than %d", len(zr.File), maxZipEntries)
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("dmarcreport: zip member %q: %w", f.Name, err)
		}
		member, err := io.ReadAll(io.LimitReader(rc, maxReportBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("dmarcreport: zip member %q: %w", f.Name, err)
		}
		if len(member) > maxReportBytes {
			return nil, fmt.Errorf("dmarcreport: zip member %q expands past %d bytes", f.Name, maxReportBytes)
		}
		reps, err := unwrap(member, depth+1)
		if err != nil {
			return nil, fmt.Errorf("zip member %q: %w", f.Name, err)
		}
		out = append(out, reps...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty zip archive", ErrNotReport)
	}
	return out, nil
}

// fromMail reads a message (RFC 5322 + MIME) and the reports attached to it.
func fromMail(data []byte, depth int) ([]*AggregateReport, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: neither XML, gzip, zip nor a mail message", ErrNotReport)
	}
	reps, err := fromPart(msg.Header, msg.Body, depth)
	if err != nil {
		return nil, err
	}
	if len(reps) == 0 {
		return nil, fmt.Errorf("%w: no report attached to the message", ErrNotReport)
	}
	return reps, nil
}

// partHeader is the little of a MIME header that unwrapping needs.
type partHeader interface {
	Get(key string) string
}

// fromPart walks one MIME entity: multiparts recursively, leaves that look
// like reports (by type or file name) decoded and unwrapped.
func fromPart(h partHeader, body io.Reader, depth int) ([]*AggregateReport, error) {
	if depth > maxNesting {
		return nil, errors.New("dmarcreport: MIME parts nested too deep")
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		return fromMultipart(body, params["boundary"], depth)
	}
	if !reportPart(mediaType, params, h) {
		return nil, nil
	}
	content, err := DecodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return nil, err
	}
	return unwrap(content, depth+1)
}

func fromMultipart(body io.Reader, boundary string, depth int) ([]*AggregateReport, error) {
	if boundary == "" {
		return nil, errors.New("dmarcreport: multipart without boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var out []*AggregateReport
	for i := 0; ; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if i >= maxMIMEParts {
			return nil, fmt.Errorf("dmarcreport: more than %d MIME parts", maxMIMEParts)
		}
		if err != nil {
			return nil, fmt.Errorf("dmarcreport: reading MIME part: %w", err)
		}
		reps, err := fromPart(p.Header, p, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, reps...)
	}
	return out, nil
}

// reportPart: a gzip, zip or XML part, or any part whose file name says so.
func reportPart(mediaType string, params map[string]string, h partHeader) bool {
	switch mediaType {
	case "application/gzip", "application/x-gzip", "application/zip", "application/x-zip-compressed",
		"application/x-zip", "text/xml", "application/xml":
		return true
	}
	name := params["name"]
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
		name = dp["filename"]
	}
	name = strings.ToLower(name)
	for _, ext := range []string{".xml", ".gz", ".zip"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// DecodeTransfer decodes a MIME part's body (base64, quoted-printable or
// as is), bounded like every input here.
func DecodeTransfer(cte string, body io.Reader) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	default:
		r = body
	}
	out, err := io.ReadAll(io.LimitReader(r, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dmarcreport: decoding attachment: %w", err)
	}
	if len(out) > maxReportBytes {
		return nil, fmt.Errorf("dmarcreport: attachment larger than %d bytes", maxReportBytes)
	}
	return out, nil
}

// base64Cleaner drops line breaks and blanks, which base64 bodies carry but
// the standard decoder accepts only as CR and LF.
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		k := 0
		for _, b := range p[:n] {
			if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
				p[k] = b
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}
