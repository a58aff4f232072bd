package reporting

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"go.etcd.io/bbolt"

	"dmarcgate/queue"
)

// TestReportsAreDKIMSigned: with [reporting.dkim], the report verifies.
func TestReportsAreDKIMSigned(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *Config) {
		c.DKIMDomain, c.DKIMSelector, c.DKIMKeyFile = "receiver.test", "rep", keyFile
	})
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.send(true)
	msgs := e.sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	lookup := func(name string) ([]string, error) {
		if name != "rep._domainkey.receiver.test" {
			return nil, errors.New("no such key " + name)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msgs[0].Data), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "receiver.test" {
		t.Fatalf("verifications %+v", verifs)
	}
	parseReportMail(t, msgs[0].To, msgs[0].Data) // still a readable report
}

func TestBadDKIMKeyRefused(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	for _, f := range []string{keyFile, filepath.Join(t.TempDir(), "missing.pem")} {
		if _, err := loadDKIMSigner("d.example", "s", f); err == nil {
			t.Errorf("%s: no error", f)
		}
	}
}

// TestUndeliverableReportDropped: a report the queue cannot deliver within
// DropAfter is dropped without a DSN and without suppressing the address.
func TestUndeliverableReportDropped(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sink.SetDataReply(func(string, []string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "busy"}
	})
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	e.send(true)
	if e.q.Stats().Depth != 1 {
		t.Fatalf("queue depth %d", e.q.Stats().Depth)
	}
	e.clock.Add(DefaultDropAfter + time.Minute)
	e.send(false)
	if d := e.q.Stats().Depth; d != 0 {
		t.Errorf("queue depth %d after DropAfter (a DSN or the report is left)", d)
	}
	if e.suppressedNow("rua@a.example") {
		t.Error("a give-up suppressed the address")
	}
	if e.sink.Count() != 0 {
		t.Errorf("sink got %d", e.sink.Count())
	}
}

func (e *env) suppressedNow(addr string) bool {
	var s bool
	e.db.View(func(tx *bbolt.Tx) error {
		s = suppressed(tx, addr, e.clock.Now())
		return nil
	})
	return s
}

func TestOnPermanentFailureOnlyForReports(t *testing.T) {
	e := newEnv(t, nil, nil)
	hard := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
	e.rep.OnPermanentFailure(&queue.Message{Kind: queue.KindMail}, "x@a.example", hard)
	e.rep.OnPermanentFailure(nil, "x@a.example", hard)
	if e.suppressedNow("x@a.example") {
		t.Error("relayed mail bounce suppressed a report address")
	}
	e.rep.OnPermanentFailure(&queue.Message{Kind: queue.KindReport}, "X@A.example", hard)
	if !e.suppressedNow("x@a.example") {
		t.Error("report bounce did not suppress")
	}
}

// TestRunSendsAtPeriodEnd: the scheduler sends once the period is over.
// The clock runs in real time, placed just before a boundary.
func TestRunSendsAtPeriodEnd(t *testing.T) {
	var offset time.Duration
	now := func() time.Time { return time.Now().Add(offset) }
	e := newEnv(t, nil, func(c *Config) {
		c.Interval, c.SendDelay, c.Now = time.Hour, time.Millisecond, now
	})
	real := time.Now()
	boundary := time.Unix(alignedEnd(alignedStart(day0, time.Hour), time.Hour), 0)
	offset = boundary.Add(-300 * time.Millisecond).Sub(real)
	e.record(event(t, msg{ip: "192.0.2.1", from: "a.example"}))
	ctx, cancel := context.WithCancel(context.Background())
	e.q.Start(ctx)
	done := make(chan struct{})
	go func() { e.rep.Run(ctx); close(done) }()
	defer func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		e.q.Stop(stopCtx)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	if _, err := e.sink.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got := receivedReports(t, e.sink)
	if len(got) != 1 || got[0].report.Metadata.DateRange.End != boundary.Unix()-1 {
		t.Errorf("report %+v", got[0].report.Metadata.DateRange)
	}
}

// TestReportMailBuild checks the message builder on its own.
func TestReportMailBuild(t *testing.T) {
	m := &ReportMail{From: "r@o.example", FromName: "Ørg", To: []string{"a@x.example", "b@y.example"},
		Subject: "S", Date: day0, Hostname: "mx.o.example", Text: "line1\nline2",
		Attachments: []Attachment{{Name: "f.xml.gz", ContentType: "application/gzip", Data: bytes.Repeat([]byte{1, 2, 3}, 100)}}}
	out, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Error("bare LF in message")
	}
	for _, want := range []string{"From: =?utf-8?q?=C3=98rg?= <r@o.example>\r\n", "To: <a@x.example>,\r\n <b@y.example>\r\n", "filename=\"f.xml.gz\""} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	bad := []*ReportMail{
		{From: "r@o.example", To: []string{"a@x.example"}, Subject: "x\r\nBcc: y"}, // header injection
		{From: "r@o.example", To: []string{"a@x\n.example"}},
		{From: "r@o.example"}, // no recipient
	}
	for _, m := range bad {
		if _, err := m.Build(); err == nil {
			t.Errorf("built %+v", m)
		}
	}
}
