// Command dmarcgate is an inbound mail gateway that enforces DMARC before the
// end of DATA and relays accepted mail to a downstream store. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"dmarcgate/config"
)

// Exit codes (CONTRACT.md): 0 success, 1 runtime failure, 2 usage or configuration.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad command-line usage (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: dmarcgate COMMAND [--config FILE] [options]

commands:
  serve                          run the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration
  check --ip IP --helo NAME --mail-from ADDR [--json] [FILE]
                                 evaluate one message as serve would (stdin without FILE);
                                 exit 0 deliver, 3 quarantine/hold, 4 reject (5xx), 5 tempfail (4xx)
  record DOMAIN|ADDRESS          explain the DMARC policy and SPF records of DOMAIN
  reports send                   close the current period and send every due report
  reports preview [--domain D]   print the aggregate report XML of the open period, per domain
  reports import FILE...         file DMARC reports about our domains (.xml, .xml.gz, .zip, .eml, mbox)
  domain status DOMAIN [--days N] [--json]
                                 what the reports say about DOMAIN, and whether its next rollout step is safe
  domain failures DOMAIN [--limit N]
                                 the latest failure reports (ruf) kept for DOMAIN
  queue list | queue flush       show the relay queue / retry every deferred message now
  queue show ID | delete ID      print a queued message / remove it (no delivery, no DSN)
  quarantine list | release ID | delete ID
                                 manage messages held by dmarc.quarantine = "hold"
  config check                   validate the configuration file (and load the keys it names)
  arc key-record                 print the DNS TXT record that publishes the ARC seal key
  cluster status                 the instances sharing cluster.postgres, the elected sender, shipping lag
  console password               read a password on stdin, print its bcrypt hash (console.password_hash)
  demo [-v]                      run a gateway, DNS and mail store on 127.0.0.1, send six messages,
                                 show what happens to each and the report it would send
  version                        print the version

--config defaults to ` + config.DefaultPath + "\n"

func main() {
	// Per message the gateway allocates little that lives long; a larger GC
	// target trades some memory for several percent of CPU under load.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout)
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status) // check's verdict, already printed
	}
	fmt.Fprintln(stderr, "dmarcgate: "+oneLine(err.Error()))
	var ue usageError
	var ce *config.Error
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return exitUsage
	case errors.Is(err, flag.ErrHelp):
		return exitUsage
	}
	return exitFailure
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command given (try dmarcgate help)"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest)
	case "check":
		return cmdCheck(ctx, rest, stdin, stdout)
	case "record":
		return cmdRecord(ctx, rest, stdout)
	case "reports":
		return cmdReports(ctx, rest, stdout)
	case "queue":
		return cmdQueue(ctx, rest, stdout)
	case "quarantine":
		return cmdQuarantine(ctx, rest, stdout)
	case "domain":
		return cmdDomain(ctx, rest, stdout)
	case "config":
		return cmdConfig(rest, stdout)
	case "backup":
		return cmdBackup(ctx, rest, stdout)
	case "arc":
		return cmdARC(rest, stdout)
	case "cluster":
		return cmdCluster(ctx, rest, stdout)
	case "console":
		return cmdConsole(rest, stdin, stdout)
	case "demo":
		return cmdDemo(ctx, rest, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "dmarcgate", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q (try dmarcgate help)", cmd)}
}

// oneLine keeps an error to one line on stderr.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// newFlags makes a flag set with --config; parse errors are usage errors.
func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", config.DefaultPath, "configuration file")
	return fs, path
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}

// parseInterleaved parses flags that may come after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdConfig(args []string, stdout io.Writer) error {
	fs, path := newFlags("config")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "check" {
		return usageError{"usage: dmarcgate config check [--config FILE]"}
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := checkFiles(cfg); err != nil {
		return err
	}
	if err := checkStateDir(cfg.StateDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}
