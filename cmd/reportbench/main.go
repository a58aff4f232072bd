// Command reportbench measures what the domain owner's commands cost on a
// year of reports: it writes a synthetic year of aggregate reports for one
// domain as an mbox, imports it with `dmarcgate reports import`, and times
// `dmarcgate domain status --days 30` and `--days 365` (wall time and
// peak memory of each process). `make bench` runs it.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("gateway", "bin/dmarcgate", "the dmarcgate binary")
	dir := flag.String("dir", "var/reportbench", "work directory (state and mbox)")
	reports := flag.Int("reports", 20000, "reports in the year")
	rows := flag.Int("rows", 100, "records per report")
	domain := flag.String("domain", "bench.example", "the policy domain")
	flag.Parse()
	if err := run(*bin, *dir, *domain, *reports, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "reportbench:", err)
		os.Exit(1)
	}
}

func run(bin, dir, domain string, reports, rows int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cfg := filepath.Join(abs, "config.toml")
	if err := os.WriteFile(cfg, []byte(config(abs, domain)), 0o600); err != nil {
		return err
	}
	if err := createState(bin, cfg, filepath.Join(abs, "state", "dmarcgate.db")); err != nil {
		return err
	}
	box := filepath.Join(abs, "year.mbox")
	start := time.Now()
	if err := writeYear(box, domain, reports, rows); err != nil {
		return err
	}
	fmt.Printf("reportbench: %d reports x %d records (%d rows) for %s written in %v\n",
		reports, rows, reports*rows, domain, time.Since(start).Round(time.Millisecond))
	out, took, rss, err := timed(bin, "reports", "import", box, "--config", cfg)
	if err != nil {
		return fmt.Errorf("import: %v\n%s", err, out)
	}
	fmt.Printf("reportbench: import %v, peak RSS %d MB: %s", took.Round(time.Millisecond), rss>>20, lastLine(out))
	for _, days := range []string{"30", "365"} {
		out, took, rss, err := timed(bin, "domain", "status", domain, "--days", days, "--json", "--config", cfg)
		if err != nil {
			return fmt.Errorf("domain status --days %s: %v\n%s", days, err, out)
		}
		fmt.Printf("reportbench: domain status --days %s: %v, peak RSS %d MB (%d bytes of JSON)\n",
			days, took.Round(time.Millisecond), rss>>20, len(out))
	}
	return nil
}

// config keeps DNS on a closed local port: the status' own lookups fail
// at once, so the times are the store's.
func config(dir, domain string) string {
	return fmt.Sprintf(`hostname = "mx.bench.example"
state_dir = %q
[smtp]
listen = ["127.0.0.1:0"]
accept_domains = [%q]
[dns]
servers = ["127.0.0.1:9"]
timeout = "200ms"
[relay]
address = "127.0.0.1:10025"
[reporting]
enabled = false
[failure_reports]
enabled = false
[metrics]
listen = ""
`, filepath.Join(dir, "state"), domain)
}

// createState runs serve until it has created the state database (the
// one-shot commands never create state), then stops it.
func createState(bin, cfg, db string) error {
	cmd := exec.Command(bin, "serve", "--config", cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(db); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("serve: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("serve created no state: %v\n%s", err, out.String())
	}
	return nil
}

// timed runs the gateway once and returns its output, wall time and peak RSS.
func timed(bin string, args ...string) ([]byte, time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10 // kilobytes on Linux
	}
	return out.Bytes(), took, rss, err
}

func lastLine(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	return s[strings.LastIndexByte(s, '\n')+1:] + "\n"
}

// writeYear writes reports spread over the last 365 days, each a mail with
// a gzip attachment, from ten reporters, about 5,000 sending addresses.
func writeYear(path, domain string, reports, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i := range reports {
		day := today.AddDate(0, 0, -(i * 365 / reports))
		org := fmt.Sprintf("reporter%d.example", i%10)
		doc := report(rng, org, fmt.Sprintf("r%d", i), domain, day, rows)
		if err := writeMail(w, org, domain, i, gz(doc)); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func report(rng *rand.Rand, org, id, domain string, day time.Time, rows int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0"?><feedback><report_metadata><org_name>%s</org_name><email>dmarc@%s</email>`+
		`<report_id>%s</report_id><date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>`+
		`<policy_published><domain>%s</domain><p>none</p></policy_published>`,
		org, org, id, day.Unix(), day.Unix()+86399, domain)
	for range rows {
		n := rng.IntN(5000)
		ip := fmt.Sprintf("10.%d.%d.%d", n/65536, n/256%256, n%256)
		pass, dkimD := "pass", domain
		if n%10 == 0 { // a tenth of the sources fail: a newsletter provider and spoofers
			pass, dkimD = "fail", "mailer.example"
		}
		fmt.Fprintf(&b, `<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated><disposition>none</disposition>`+
			`<dkim>%s</dkim><spf>%s</spf></policy_evaluated></row><identifiers><header_from>%s</header_from></identifiers>`+
			`<auth_results><dkim><domain>%s</domain><selector>s1</selector><result>pass</result></dkim>`+
			`<spf><domain>%s</domain><result>pass</result></spf></auth_results></record>`,
			ip, 1+rng.IntN(20), pass, pass, domain, dkimD, dkimD)
	}
	b.WriteString("</feedback>\n")
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func writeMail(w *bufio.Writer, org, domain string, i int, attachment []byte) error {
	fmt.Fprintf(w, "From dmarc@%s Thu Jan  1 00:00:00 2026\n", org)
	fmt.Fprintf(w, "From: dmarc@%s\nTo: dmarc-reports@%s\nSubject: Report Domain: %s Submitter: %s Report-ID: r%d\n"+
		"MIME-Version: 1.0\nContent-Type: application/gzip; name=\"r%d.xml.gz\"\nContent-Transfer-Encoding: base64\n\n",
		org, domain, domain, org, i, i)
	enc := base64.StdEncoding.EncodeToString(attachment)
	for len(enc) > 76 {
		w.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	_, err := w.WriteString(enc + "\n\n")
	return err
}
