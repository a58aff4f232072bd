package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// aggRow is one <record> of a synthetic aggregate report.
type aggRow struct {
	ip         string
	count      int
	dkim, spf  string // policy_evaluated results: pass or fail
	dkimDomain string // auth_results DKIM d= (pass), "" for none
	spfDomain  string // auth_results SPF domain (pass)
	disp       string
}

// aggregateXML writes a report; ns selects RFC 9990 (namespaced) or RFC 7489.
func aggregateXML(ns bool, org, id, domain string, begin time.Time, rows ...aggRow) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if ns {
		b.WriteString(`<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><version>1.0</version>`)
	} else {
		b.WriteString(`<feedback>`)
	}
	fmt.Fprintf(&b, `<report_metadata><org_name>%s</org_name><email>noreply-dmarc@%s</email><report_id>%s</report_id>`+
		`<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>`,
		org, org, id, begin.Unix(), begin.Add(24*time.Hour-time.Second).Unix())
	fmt.Fprintf(&b, `<policy_published><domain>%s</domain><p>none</p></policy_published>`, domain)
	for _, r := range rows {
		disp := r.disp
		if disp == "" {
			disp = "none"
		}
		fmt.Fprintf(&b, `<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated>`+
			`<disposition>%s</disposition><dkim>%s</dkim><spf>%s</spf></policy_evaluated></row>`+
			`<identifiers><header_from>%s</header_from></identifiers><auth_results>`,
			r.ip, r.count, disp, r.dkim, r.spf, domain)
		if r.dkimDomain != "" {
			fmt.Fprintf(&b, `<dkim><domain>%s</domain><selector>s1</selector><result>pass</result></dkim>`, r.dkimDomain)
		}
		spfRes := "pass"
		if r.spfDomain == "" {
			spfRes = "fail"
		}
		fmt.Fprintf(&b, `<spf><domain>%s</domain><result>%s</result></spf></auth_results></record>`, r.spfDomain, spfRes)
	}
	b.WriteString("</feedback>\n")
	return b.String()
}

func gzipBytes(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(data))
	zw.Close()
	return b.Bytes()
}

func zipBytes(t testing.TB, name, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create(name)
	w.Write([]byte(data))
	zw.Close()
	return b.Bytes()
}

// reportMail wraps an attachment as receivers send it (RFC 9990 §2.5.1).
func reportMail(from, to, subject, ctype, name string, attachment []byte) string {
	enc := base64.StdEncoding.EncodeToString(attachment)
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + name + "@reports.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate report.\r\n" +
		"--b1\r\nContent-Type: " + ctype + "; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n--b1--\r\n"
}

// failureMail is an RFC 6591 failure report about a message from domain.
func failureMail(from, to, domain, sourceIP string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: FW: spoof\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"f1\"\r\n\r\n" +
		"--f1\r\nContent-Type: text/plain\r\n\r\nA message claiming to be from you failed DMARC.\r\n" +
		"--f1\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\nVersion: 1\r\n" +
		"User-Agent: test-receiver/1\r\nAuth-Failure: dmarc\r\nAuthentication-Results: rx.test; dmarc=fail header.from=" + domain + "\r\n" +
		"Source-IP: " + sourceIP + "\r\nReported-Domain: " + domain + "\r\nArrival-Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n" +
		"--f1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: ceo@" + domain + "\r\nSubject: urgent wire transfer\r\n\r\n--f1--\r\n"
}
