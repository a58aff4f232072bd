package queue

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"

	"dmarcgate/resolver"
)

// maxAddrs bounds the addresses tried per destination in one attempt.
const maxAddrs = 5

// target is one destination and the recipients that go there together.
type target struct {
	name  string // for logs: "relay", "smarthost" or the domain
	addrs []hostAddr
	lmtp  bool
	tls   bool
	// capped: an MX destination, whose addresses each take at most
	// Config.MaxConnsPerHost deliveries at once (see hostSlots).
	capped bool
	rcpts  []string
	err    error // finding the destination failed; applies to every rcpt
}

type hostAddr struct {
	addr       string // host:port to dial
	serverName string // TLS server name
}

// targets groups rec's recipients by destination: all to the relay, or for
// the outbound route one transaction per recipient domain.
func (q *Queue) targets(ctx context.Context, rec *record) []target {
	if rec.Route == RouteRelay {
		host, _, _ := net.SplitHostPort(q.cfg.RelayAddr)
		t := target{name: "relay", lmtp: q.cfg.RelayProtocol == "lmtp", tls: q.cfg.RelayTLS, rcpts: rec.To}
		if q.cfg.RelayAddr == "" {
			t.err = fmt.Errorf("no relay address configured")
		} else {
			t.addrs = []hostAddr{{addr: q.cfg.RelayAddr, serverName: host}}
		}
		return []target{t}
	}
	var order []string
	byDomain := map[string][]string{}
	for _, r := range rec.To {
		d := domainOf(r)
		if byDomain[d] == nil {
			order = append(order, d)
		}
		byDomain[d] = append(byDomain[d], r)
	}
	out := make([]target, 0, len(order))
	for _, d := range order {
		t := target{name: d, tls: true, rcpts: byDomain[d]}
		if smarthost := cmp.Or(rec.Smarthost, q.cfg.Smarthost); smarthost != "" {
			host, _, _ := net.SplitHostPort(smarthost)
			t.addrs = []hostAddr{{addr: smarthost, serverName: host}}
		} else {
			t.addrs, t.err = q.mxAddrs(ctx, d)
			t.capped = true
		}
		out = append(out, t)
	}
	return out
}

func permanent(code int, enh smtp.EnhancedCode, format string, args ...any) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: fmt.Sprintf(format, args...)}
}

// mxAddrs finds the addresses to try for domain, most preferred first
// (RFC 5321 §5.1): its MX hosts, or the domain itself when it has no MX.
func (q *Queue) mxAddrs(ctx context.Context, domain string) ([]hostAddr, error) {
	if q.cfg.Resolver == nil {
		return nil, fmt.Errorf("no resolver configured for outbound delivery to %s", domain)
	}
	if strings.HasPrefix(domain, "[") {
		return nil, permanent(550, smtp.EnhancedCode{5, 1, 2}, "address literal destinations are not supported: %s", domain)
	}
	hosts, implicit, err := q.mxHosts(ctx, domain)
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(q.cfg.OutboundPort)
	var addrs []hostAddr
	var lastErr error
	for _, h := range hosts {
		ips, err := q.cfg.Resolver.LookupIPAddr(ctx, h)
		if err != nil {
			if implicit && resolver.IsNotFound(err) {
				return nil, permanent(550, smtp.EnhancedCode{5, 1, 2}, "%s has no MX and no address records", domain)
			}
			lastErr = err
			continue
		}
		for _, ip := range ips {
			addrs = append(addrs, hostAddr{addr: net.JoinHostPort(ip.IP.String(), port), serverName: h})
		}
		if len(addrs) >= maxAddrs {
			break
		}
	}
	if len(addrs) == 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("no addresses for the mail hosts of %s", domain)
		}
		return nil, fmt.Errorf("looking up mail hosts of %s: %w", domain, lastErr)
	}
	return addrs, nil
}

// mxHosts returns domain's mail hosts by preference (equal preferences in
// random order), or the domain itself (implicit MX) when it has none.
func (q *Queue) mxHosts(ctx context.Context, domain string) (hosts []string, implicit bool, err error) {
	mxs, err := q.cfg.Resolver.LookupMX(ctx, domain)
	switch {
	case resolver.IsNXDomain(err):
		return nil, false, permanent(550, smtp.EnhancedCode{5, 1, 2}, "domain %s does not exist", domain)
	case err != nil && !resolver.IsNotFound(err):
		return nil, false, fmt.Errorf("looking up MX of %s: %w", domain, err)
	case len(mxs) == 0:
		return []string{domain}, true, nil
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		// RFC 7505 §3.2: a null MX says the domain accepts no mail.
		return nil, false, permanent(556, smtp.EnhancedCode{5, 1, 10}, "domain %s accepts no mail (null MX)", domain)
	}
	mxs = slices.Clone(mxs)
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	for _, mx := range mxs {
		if mx.Host != "." && mx.Host != "" {
			hosts = append(hosts, mx.Host)
		}
	}
	return hosts, false, nil
}
