package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"dmarcgate/internal/pgtest"
	"dmarcgate/resolver/resolvertest"
	"dmarcgate/smtpsink"
)

// The elected sender dies (SIGKILL) while its report waits in its queue:
// another instance sends the same report, never a second one.
func TestClusterSenderKilledWhileSending(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := pgtest.Database(t)
	bin := buildBinary(t)
	dnsSrv := resolvertest.Start(t, testZone())
	sink := smtpsink.Start(t, smtpsink.Options{})
	out := smtpsink.Start(t, smtpsink.Options{})
	// The reports' smarthost defers report mail until the sender is dead.
	out.SetDataReply(func(from string, _ []string) *smtp.SMTPError {
		if from == "dmarc-reports@example.org" {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not now"}
		}
		return nil
	})
	procs, addrs, configs := map[string]*exec.Cmd{}, map[string]string{}, map[string]string{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("mx%d", i)
		dir := t.TempDir()
		doc := fmt.Sprintf(baseConfig, filepath.Join(dir, "state"), dnsSrv.Addr(), sink.Addr(), out.Addr(), out.Addr())
		doc = strings.Replace(doc, `level = "debug"`, `level = "info"`, 1)
		doc = strings.Replace(doc, `listen = "127.0.0.1:0"`, `listen = ""`, 1)
		doc += fmt.Sprintf("[cluster]\npostgres = %q\ninstance = %q\nship_grace = \"20s\"\n", dsn, name)
		configs[name] = filepath.Join(dir, "config.toml")
		if err := os.WriteFile(configs[name], []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd, addr := startProcess(t, bin, configs[name])
		procs[name], addrs[name] = cmd, addr
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	for i := range 9 {
		name := fmt.Sprintf("mx%d", i%3+1)
		if err := sendTo(addrs[name], "client.test", "a@good.example", []string{"bob@example.org"},
			message("a@good.example", fmt.Sprint("kill ", i))); err != nil {
			t.Fatalf("message %d to %s: %v", i, name, err)
		}
	}
	if o, err := exec.Command(bin, "reports", "send", "--config", configs["mx1"]).CombinedOutput(); err != nil {
		t.Fatalf("reports send: %v\n%s", err, o)
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var sender string
	waitFor(t, 60*time.Second, "a sender took the report and tried to deliver it", func() bool {
		err := db.QueryRow(ctx, `SELECT handed_by FROM dg_agg_reports WHERE domain = 'good.example' AND handed_by IS NOT NULL`).Scan(&sender)
		return err == nil && out.Connections() > 0
	})
	procs[sender].Process.Kill() // SIGKILL
	procs[sender].Wait()
	t.Logf("killed the sender %s", sender)
	out.SetDataReply(nil)
	waitFor(t, 90*time.Second, "another instance delivered the report", func() bool {
		return len(aggregateReports(t, out)["good.example"]) > 0
	})
	time.Sleep(3 * time.Second)
	s := &site{out: out}
	if n := s.reportedCount(t, "good.example"); n != 9 {
		t.Errorf("the report counts %d messages, want 9", n)
	}
	var by string
	var hands int
	if err := db.QueryRow(ctx, `SELECT handed_by, hand_count FROM dg_agg_reports WHERE domain = 'good.example'`).Scan(&by, &hands); err != nil {
		t.Fatal(err)
	}
	if by == sender || hands < 2 {
		t.Errorf("report handed by %s %d times; want another instance than the killed %s", by, hands, sender)
	}
}
