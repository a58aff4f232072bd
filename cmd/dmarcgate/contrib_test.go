package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dmarcgate/config"
)

const unitFile = "../../contrib/dmarcgate.service"

// readUnit reads a systemd unit: section, then key, then its values in order.
func readUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			unit[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not a key=value line in a section: %q", path, line)
			}
			unit[section][k] = append(unit[section][k], v)
		}
	}
	return unit
}

// The shipped systemd unit runs the commands as they are, gives serve the
// time its graceful stop takes, and uses the default state directory.
func TestSystemdUnitMatchesTheProgram(t *testing.T) {
	svc := readUnit(t, unitFile)["Service"]
	one := func(key string) string {
		if len(svc[key]) != 1 {
			t.Fatalf("[Service] %s = %q, want one value", key, svc[key])
		}
		return svc[key][0]
	}
	for key, want := range map[string][]string{
		"ExecStartPre": {"config", "check", "--config", config.DefaultPath},
		"ExecStart":    {"serve", "--config", config.DefaultPath},
	} {
		args := strings.Fields(one(key))
		if len(args) < 1 || filepath.Base(args[0]) != "dmarcgate" || strings.Join(args[1:], " ") != strings.Join(want, " ") {
			t.Errorf("%s = %q, want dmarcgate %s", key, one(key), strings.Join(want, " "))
		}
	}
	// The commands exist as written: config check passes an example config.
	if code := run(t.Context(), []string{"config", "check", "--config", "../../config.example.toml"}, nil, new(strings.Builder), new(strings.Builder)); code != exitOK {
		t.Errorf("config check of config.example.toml: exit %d", code)
	}
	if !strings.Contains(one("ExecReload"), "-HUP $MAINPID") {
		t.Errorf("ExecReload = %q, want SIGHUP (certificate reload)", one("ExecReload"))
	}
	if one("KillSignal") != "SIGTERM" {
		t.Errorf("KillSignal = %q, want SIGTERM (graceful stop)", one("KillSignal"))
	}
	stop, err := strconv.Atoi(one("TimeoutStopSec"))
	if err != nil || time.Duration(stop)*time.Second < shutdownGrace+10*time.Second {
		t.Errorf("TimeoutStopSec = %q, want room for the %v serve lets sessions finish", one("TimeoutStopSec"), shutdownGrace)
	}
	if dir := "/var/lib/" + one("StateDirectory"); dir != config.Default().StateDir {
		t.Errorf("StateDirectory gives %s, state_dir defaults to %s", dir, config.Default().StateDir)
	}
	if n, err := strconv.Atoi(one("LimitNOFILE")); err != nil || n < 2*config.Default().SMTP.MaxConnections {
		t.Errorf("LimitNOFILE = %q, below two per connection of smtp.max_connections", one("LimitNOFILE"))
	}
	families := strings.Fields(one("RestrictAddressFamilies"))
	for _, f := range []string{"AF_INET", "AF_INET6", "AF_UNIX"} {
		if !strings.Contains(" "+strings.Join(families, " ")+" ", " "+f+" ") {
			t.Errorf("RestrictAddressFamilies lacks %s", f)
		}
	}
}

// systemd-analyze, where installed, reads the unit without a warning.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: the unit file was not verified by systemd")
	}
	text, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	// verify wants the programs to exist: this test binary stands in.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "dmarcgate.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), "/usr/local/bin/dmarcgate", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// Complaints about the file name its line ("dmarcgate.service:12: ...");
	// anything else is about this machine, not the unit.
	if lines := regexp.MustCompile(`(?m)^.*dmarcgate\.service:\d+:.*$`).FindAllString(string(out), -1); lines != nil {
		t.Fatalf("systemd-analyze verify:\n%s", strings.Join(lines, "\n"))
	}
	if err != nil || len(out) > 0 {
		t.Skipf("systemd-analyze had trouble with this machine, not the unit (%v): %s", err, out)
	}
}
