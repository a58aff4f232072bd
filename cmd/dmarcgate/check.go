package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"dmarcgate/policy"
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
		return enc.Encode(verdictJSON(v))
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
	return nil
}

type checkOutput struct {
	AuthenticationResults string              `json:"authentication_results"`
	Disposition           string              `json:"disposition"`
	Reply                 string              `json:"reply"`
	HeaderFrom            string              `json:"header_from"`
	DMARC                 string              `json:"dmarc"`
	PolicyInForce         string              `json:"policy"`
	PolicyDomain          string              `json:"policy_domain,omitempty"`
	Record                string              `json:"record,omitempty"`
	SPF                   policy.SPFResult    `json:"spf"`
	DKIM                  []policy.DKIMResult `json:"dkim"`
	SPFAligned            bool                `json:"spf_aligned"`
	DKIMAligned           bool                `json:"dkim_aligned"`
	Reasons               []policy.Reason     `json:"reasons,omitempty"`
	Why                   string              `json:"why,omitempty"`
	ARC                   *arcOutput          `json:"arc,omitempty"`
}

func verdictJSON(v *smtpd.Verdict) checkOutput {
	out := checkOutput{
		AuthenticationResults: strings.TrimRight(v.AuthResults, "\r\n"),
		Disposition:           string(v.Action),
		Reply:                 replyText(v),
		HeaderFrom:            v.FromDomain,
		DMARC:                 string(v.Decision.Result),
		PolicyInForce:         string(v.Decision.PolicyInForce),
		SPF:                   v.SPF.ToPolicy(),
		SPFAligned:            v.Decision.SPFAligned,
		DKIMAligned:           v.Decision.DKIMAligned,
		Reasons:               v.Decision.Reasons,
		Why:                   v.Decision.Why,
		ARC:                   arcJSON(v),
	}
	for _, d := range v.DKIM {
		out.DKIM = append(out.DKIM, policy.DKIMResult{Domain: d.Domain, Selector: d.Selector, Result: d.Result, Reason: d.Reason})
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
