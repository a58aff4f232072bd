package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"dmarcgate/smtpd"
)

func cmdCheck(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs, path := newFlags("check")
	ipStr := fs.String("ip", "", "client IP address")
	helo := fs.String("helo", "", "HELO/EHLO name")
	mailFrom := fs.String("mail-from", "", "envelope sender (empty for the null sender)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	ip := net.ParseIP(*ipStr)
	if ip == nil || *helo == "" || len(pos) > 1 {
		return usageError{"usage: dmarcgate check --ip IP --helo NAME --mail-from ADDR [--json] [FILE]"}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	_, _, eval, err := newEvaluator(cfg)
	if err != nil {
		return err
	}
	in := stdin
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	tx := smtpd.Transaction{IP: ip, HELO: *helo, MailFrom: strings.Trim(*mailFrom, "<>")}
	v, err := eval.CheckMessage(ctx, tx, crlfReader(in), cfg.SMTP.MaxMessageSize)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(verdictJSON(v)); err != nil {
			return err
		}
		return verdictExit(v)
	}
	if v.AuthResults != "" {
		fmt.Fprint(stdout, v.AuthResults)
	}
	fmt.Fprintf(stdout, "disposition: %s\n", v.Action)
	fmt.Fprintf(stdout, "reply: %s\n", replyText(v))
	if a := arcJSON(v); a != nil {
		fmt.Fprintf(stdout, "arc: %s\n", a.text())
	}
	if v.Decision.Why != "" {
		fmt.Fprintf(stdout, "why: %s\n", v.Decision.Why)
	}
	return verdictExit(v)
}

// Exit codes of check, so that a script can branch on the verdict (0 is
// deliver; 1 and 2 keep their meaning: the check itself failed, usage).
const (
	exitCheckQuarantine = 3 // quarantine or hold: accepted, but not to the inbox
	exitCheckReject     = 4 // refused with a 5xx reply: reject, bad-from, malformed, too-big
	exitCheckTempFail   = 5 // refused with a 4xx reply: the sender retries
)

// exitStatus is a verdict's exit code; it is no error, so nothing is
// printed on stderr for it.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// verdictExit maps the verdict to check's exit code: nil for deliver.
func verdictExit(v *smtpd.Verdict) error {
	switch {
	case v.Reply != nil && v.Reply.Code >= 500:
		return exitStatus(exitCheckReject)
	case v.Reply != nil && v.Reply.Code >= 400:
		return exitStatus(exitCheckTempFail)
	case v.Action == smtpd.ActionQuarantine || v.Action == smtpd.ActionHold:
		return exitStatus(exitCheckQuarantine)
	}
	return nil
}

// checkOutput is check --json: every key in snake_case, at every level.
type checkOutput struct {
	AuthenticationResults string          `json:"authentication_results"`
	Disposition           string          `json:"disposition"`
	Reply                 string          `json:"reply"`
	ExitCode              int             `json:"exit_code"`
	HeaderFrom            string          `json:"header_from"`
	DMARC                 string          `json:"dmarc"`
	PolicyInForce         string          `json:"policy"`
	PolicyDomain          string          `json:"policy_domain,omitempty"`
	Record                string          `json:"record,omitempty"`
	SPF                   checkSPF        `json:"spf"`
	DKIM                  []checkDKIM     `json:"dkim"`
	SPFAligned            bool            `json:"spf_aligned"`
	DKIMAligned           bool            `json:"dkim_aligned"`
	Reasons               []checkOverride `json:"reasons,omitempty"`
	Why                   string          `json:"why,omitempty"`
	ARC                   *arcOutput      `json:"arc,omitempty"`
}

type checkSPF struct {
	Domain string `json:"domain"`
	Scope  string `json:"scope"`
	Result string `json:"result"`
}

type checkDKIM struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	Result   string `json:"result"`
	Reason   string `json:"reason,omitempty"`
}

type checkOverride struct {
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`
}

func verdictJSON(v *smtpd.Verdict) checkOutput {
	spf := v.SPF.ToPolicy()
	out := checkOutput{
		AuthenticationResults: strings.TrimRight(v.AuthResults, "\r\n"),
		Disposition:           string(v.Action),
		Reply:                 replyText(v),
		HeaderFrom:            v.FromDomain,
		DMARC:                 string(v.Decision.Result),
		PolicyInForce:         string(v.Decision.PolicyInForce),
		SPF:                   checkSPF{Domain: spf.Domain, Scope: spf.Scope, Result: string(spf.Result)},
		DKIM:                  []checkDKIM{},
		SPFAligned:            v.Decision.SPFAligned,
		DKIMAligned:           v.Decision.DKIMAligned,
		Why:                   v.Decision.Why,
		ARC:                   arcJSON(v),
	}
	var code exitStatus
	if errors.As(verdictExit(v), &code) {
		out.ExitCode = int(code)
	}
	for _, d := range v.DKIM {
		out.DKIM = append(out.DKIM, checkDKIM{Domain: d.Domain, Selector: d.Selector, Result: string(d.Result), Reason: d.Reason})
	}
	for _, r := range v.Decision.Reasons {
		out.Reasons = append(out.Reasons, checkOverride{Type: string(r.Type), Comment: r.Comment})
	}
	if v.Discovery != nil {
		out.PolicyDomain = v.Discovery.PolicyDomain
		if v.Discovery.Record != nil {
			out.Record = v.Discovery.Record.Raw
		}
	}
	return out
}

// replyText is the SMTP reply serve would give at the end of DATA.
func replyText(v *smtpd.Verdict) string {
	if v.Reply == nil {
		return "250 2.0.0 OK"
	}
	e := v.Reply.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s", v.Reply.Code, e[0], e[1], e[2], v.Reply.Message)
}
