package resolver

import (
	"context"
	"strings"

	"github.com/miekg/dns"
)

// ednsBufferSize is the UDP payload size we advertise (RFC 6891 §6.2.5).
const ednsBufferSize = 1232

// newQuery builds a recursive query with EDNS0 and the DO bit, so that a
// validating upstream sets AD on answers it has validated (RFC 4035 §3.2.3).
// AD in the query also asks for it (RFC 6840 §5.7).
func newQuery(fqdn string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true
	m.SetEdns0(ednsBufferSize, true)
	return m
}

// exchange asks each server in turn until one gives a usable answer
// (NOERROR or NXDOMAIN). Every failure moves on to the next server; when
// all fail, the last failure is returned.
func (c *Client) exchange(ctx context.Context, fqdn string, qtype uint16) (*dns.Msg, string, *failure) {
	var last *failure
	for _, server := range c.cfg.Servers {
		if err := ctx.Err(); err != nil {
			break
		}
		resp, f := c.tryServer(ctx, fqdn, qtype, server)
		if f == nil {
			return resp, server, nil
		}
		last = f
	}
	if last == nil {
		last = contextFailure(context.Cause(ctx))
	}
	return nil, "", last
}

// tryServer sends one query over UDP, and again over TCP when the UDP
// answer is truncated (RFC 7766 §5). Each transport gets cfg.Timeout.
func (c *Client) tryServer(ctx context.Context, fqdn string, qtype uint16, server string) (*dns.Msg, *failure) {
	resp, f := c.send(ctx, c.udp, fqdn, qtype, server)
	if f == nil && resp.Truncated {
		resp, f = c.send(ctx, c.tcp, fqdn, qtype, server)
	}
	if f != nil {
		return nil, f
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, rcodeFailure(resp.Rcode, server)
	}
	if !answersQuestion(resp, fqdn, qtype) {
		return nil, &failure{kind: outcomePermanent, msg: "answer does not match the question", server: server}
	}
	return resp, nil
}

// send performs one exchange with a fresh query ID.
func (c *Client) send(ctx context.Context, client *dns.Client, fqdn string, qtype uint16, server string) (*dns.Msg, *failure) {
	attemptCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.sent.Add(1)
	resp, _, err := client.ExchangeContext(attemptCtx, newQuery(fqdn, qtype), server)
	if err != nil {
		return nil, exchangeFailure(err, server)
	}
	return resp, nil
}

// answersQuestion reports whether resp echoes our question (RFC 5452 §3).
func answersQuestion(resp *dns.Msg, fqdn string, qtype uint16) bool {
	if !resp.Response || len(resp.Question) != 1 {
		return false
	}
	q := resp.Question[0]
	return q.Qtype == qtype && q.Qclass == dns.ClassINET && strings.EqualFold(q.Name, fqdn)
}
