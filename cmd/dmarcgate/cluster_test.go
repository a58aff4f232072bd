package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"dmarcgate/cluster"
	"dmarcgate/config"
	"dmarcgate/internal/pgtest"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// site is several gateways (the MX hosts of one site) on one PostgreSQL,
// sharing the DNS, the downstream store and the reports' smarthost.
type site struct {
	dns   *resolvertest.Server
	sink  *smtpsink.Sink
	out   *smtpsink.Sink
	nodes []*harness
}

// newSite starts n in-process gateways named mx1..mxn on dsn.
func newSite(t *testing.T, dsn string, n int, tweak func(i int, c *config.Config)) *site {
	t.Helper()
	s := &site{dns: resolvertest.Start(t, testZone())}
	s.dns.SetRecords("second.example.", `second.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	s.dns.SetRecords("_dmarc.second.example.", `_dmarc.second.example. 300 IN TXT "v=DMARC1; p=none; rua=mailto:agg@second.example"`)
	s.dns.SetRecords("spoofed.example.", `spoofed.example. 300 IN TXT "v=spf1 -all"`, `spoofed.example. 300 IN A 192.0.2.9`)
	s.dns.SetRecords("_dmarc.spoofed.example.", `_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; ruf=mailto:ruf@spoofed.example; fo=1"`)
	s.sink = smtpsink.Start(t, smtpsink.Options{Hostname: "store.test"})
	s.out = smtpsink.Start(t, smtpsink.Options{Hostname: "smarthost.test"})
	for i := range n {
		h := &harness{t: t, dir: t.TempDir(), dns: s.dns, sink: s.sink, out: s.out}
		doc := fmt.Sprintf(baseConfig, h.dir, s.dns.Addr(), s.sink.Addr(), s.out.Addr(), s.out.Addr())
		cfg, err := config.Parse([]byte(doc + fmt.Sprintf("[cluster]\npostgres = %q\ninstance = \"mx%d\"\nship_grace = \"20s\"\n", dsn, i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if tweak != nil {
			tweak(i, cfg)
		}
		h.cfg = cfg
		h.writeConfig()
		h.start()
		s.nodes = append(s.nodes, h)
	}
	return s
}

// logs is every node's log.
func (s *site) logs() string {
	var b strings.Builder
	for _, h := range s.nodes {
		b.WriteString(h.logs.String())
	}
	return b.String()
}

// sendSpread sends count passing messages from domain, round robin over
// the nodes, and fails the test on any reply but 250.
func (s *site) sendSpread(t *testing.T, domain string, count int) {
	t.Helper()
	for i := range count {
		h := s.nodes[i%len(s.nodes)]
		if err := h.send("a@"+domain, []string{"bob@example.org"}, message("a@"+domain, fmt.Sprint(domain, " ", i))); err != nil {
			t.Fatalf("message %d to %s: %v", i, h.cfg.Cluster.Instance, err)
		}
	}
}

// waitReports waits for the reports of domains at the smarthost, then
// a few ticks more so that a second report would have shown up too.
func (s *site) waitReports(t *testing.T, domains ...string) {
	t.Helper()
	waitFor(t, 60*time.Second, "one aggregate report per domain", func() bool {
		reps := aggregateReports(t, s.out)
		for _, d := range domains {
			if len(reps[d]) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second)
}

// reportedCount checks domain got exactly one report (or resends of the
// same report_id) and returns the messages it counts.
func (s *site) reportedCount(t *testing.T, domain string) int64 {
	t.Helper()
	reps := aggregateReports(t, s.out)[domain]
	ids := map[string]bool{}
	var count int64
	for i, r := range reps {
		rep := checkReportMessage(t, r, domain)
		ids[rep.Metadata.ReportID] = true
		if i == 0 {
			count = rep.MessageCount()
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s got %d reports (%d distinct report_ids) for one period, want one", domain, len(reps), len(ids))
	}
	if len(reps) > 1 {
		t.Logf("%s: the same report sent %d times", domain, len(reps))
	}
	return count
}

func TestClusterSendsOneReportPerDomainFromEveryInstance(t *testing.T) {
	s := newSite(t, pgtest.Database(t), 3, nil)
	s.sendSpread(t, "good.example", 10)
	s.sendSpread(t, "second.example", 4)
	out, err := runCmd(t, s.nodes[1], "reports", "send")
	if err != nil || !strings.Contains(out, "period closed on every instance") {
		t.Fatalf("reports send on mx2: %q %v", out, err)
	}
	s.waitReports(t, "good.example", "second.example")
	if n := s.reportedCount(t, "good.example"); n != 10 {
		t.Errorf("good.example's report counts %d messages, want 10 (the sum over three instances)", n)
	}
	if n := s.reportedCount(t, "second.example"); n != 4 {
		t.Errorf("second.example's report counts %d messages, want 4", n)
	}
	waitFor(t, 20*time.Second, "cluster status: everything delivered", func() bool {
		out, err := runCmd(t, s.nodes[2], "cluster", "status")
		return err == nil && strings.Contains(out, "reports not yet delivered: 0") && strings.Count(out, " live ") == 3
	})
	out, _ = runCmd(t, s.nodes[0], "cluster", "status")
	t.Logf("cluster status:\n%s", out)
	if !strings.Contains(out, fmt.Sprintf("schema version %d (this build: %[1]d)", cluster.SchemaVersion())) || !regexp.MustCompile(`sender: mx\d`).MatchString(out) {
		t.Errorf("cluster status does not show the schema and the sender:\n%s", out)
	}
}

func TestClusterQuarantineHeldOnOneReleasedFromAnother(t *testing.T) {
	s := newSite(t, pgtest.Database(t), 2, func(_ int, c *config.Config) { c.DMARC.Quarantine = "hold" })
	a, b := s.nodes[0], s.nodes[1]
	if err := a.send("x@quar.example", []string{"bob@example.org"}, message("x@quar.example", "held on mx1")); err != nil {
		t.Fatal(err)
	}
	idRE := regexp.MustCompile(`(?m)^(\S+)\s+mx1\s`)
	var id string
	waitFor(t, 15*time.Second, "mx2 lists the message mx1 holds", func() bool {
		out, err := runCmd(t, b, "quarantine", "list")
		if m := idRE.FindStringSubmatch(out); err == nil && m != nil && strings.Contains(out, "held on mx1") {
			id = m[1]
			return true
		}
		return false
	})
	if _, err := runCmd(t, b, "quarantine", "release", "NOSUCHID"); err == nil || !strings.Contains(err.Error(), "no held message NOSUCHID") {
		t.Errorf("releasing an unknown ID from mx2: %v", err)
	}
	out, err := runCmd(t, b, "quarantine", "release", id)
	if err != nil || !strings.Contains(out, "released") || !strings.Contains(out, "mx1") {
		t.Fatalf("release from mx2: %q %v", out, err)
	}
	if _, err := s.sink.Wait(1, 15*time.Second); err != nil {
		t.Fatalf("the released message did not reach the store: %v", err)
	}
	if !strings.Contains(a.logs.String(), "quarantined message released") || !strings.Contains(a.logs.String(), "instance mx2") {
		t.Error("mx1 did not log the release with who asked")
	}
}

func TestClusterFailureReportLimitHoldsAcrossInstances(t *testing.T) {
	s := newSite(t, pgtest.Database(t), 3, nil)
	// Spoofed spoofed.example (p=reject, ruf=, fo=1) from one source, two
	// messages to each instance: one report per source per hour in all.
	for i := range 6 {
		h := s.nodes[i%3]
		msg := message("a@spoofed.example", fmt.Sprint("spoof ", i))
		if err := sendFrom(t, h.addr, "127.0.0.66", "a@spoofed.example", []string{"bob@example.org"}, msg); err == nil {
			t.Fatalf("spoof %d accepted", i)
		}
	}
	waitFor(t, 30*time.Second, "every instance decided its failure report", func() bool {
		l := s.logs()
		return strings.Count(l, "msg=\"failure report queued\"")+strings.Count(l, "outcome=rate_limited") >= 3
	})
	if _, err := s.out.Wait(1, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := len(failureReports(t, s.out)); n != 1 {
		t.Fatalf("%d failure reports for one source over three instances, want 1 (what one instance sends)", n)
	}
}

func TestClusterInboundReportsReachEveryInstance(t *testing.T) {
	s := newSite(t, pgtest.Database(t), 2, func(_ int, c *config.Config) {
		c.InboundReports.Addresses = []string{reportAddr}
		c.InboundReports.Domains = []string{"example.org"}
	})
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	xml := aggregateXML(false, "google.com", "g-shared", "example.org", day,
		aggRow{ip: "192.0.2.10", count: 42, dkim: "pass", spf: "pass", dkimDomain: "example.org", spfDomain: "example.org"})
	mail := reportMail("noreply@good.example", reportAddr, "Report Domain: example.org Submitter: google.com Report-ID: g-shared",
		"application/gzip", "google.com!example.org!1!2.xml.gz", gzipBytes(t, xml))
	knows := func(h *harness) bool {
		out, err := runCmd(t, h, "domain", "status", "example.org", "--json", "--days", "7")
		return err == nil && strings.Contains(out, `"messages": 42,`)
	}
	// The reporter picks mx1: mx2 knows the report too.
	if knows(s.nodes[1]) {
		t.Fatal("mx2 knows the report before it was sent")
	}
	if err := s.nodes[0].send("noreply@good.example", []string{reportAddr}, mail); err != nil {
		t.Fatal(err)
	}
	// mx2 files it, then logs it: wait for both.
	waitFor(t, 20*time.Second, "mx2 filed the report mx1 took", func() bool {
		return strings.Contains(s.nodes[1].logs.String(), "filed report mail taken by other instances")
	})
	for _, h := range s.nodes {
		if !knows(h) {
			t.Fatalf("%s does not know the report", h.cfg.Cluster.Instance)
		}
	}
	// A repeat to mx2 is kept once, there and on mx1.
	if err := s.nodes[1].send("noreply@good.example", []string{reportAddr}, mail); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "mx2 read the repeat", func() bool {
		return strings.Contains(s.nodes[1].logs.String(), "example.org:duplicate")
	})
	time.Sleep(2 * time.Second)
	for _, h := range s.nodes {
		if !knows(h) {
			t.Errorf("%s counts the repeated report twice", h.cfg.Cluster.Instance)
		}
	}
}
