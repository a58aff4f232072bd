package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/miekg/dns"

	"dmarcgate/policy"
	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

func dmarcZone() resolvertest.Zone {
	return resolvertest.Zone{".": {
		txtRR("_dmarc.a.example", "v=DMARC1; p=reject; sp=quarantine"),
		txtRR("_dmarc.example.com", "v=DMARC1; p=quarantine"),
		"exists.example. 300 IN A 192.0.2.1",
		"mxonly.example. 300 IN MX 10 mx.a.example.",
		txtRR("txtonly.example", "hello"),
		"leaf.ent.example. 300 IN A 192.0.2.2",
		"v6only.example. 300 IN AAAA 2001:db8::1",
	}}
}

func TestDiscover(t *testing.T) {
	c, srv := newTestChecker(t, dmarcZone())
	srv.Fail("_dmarc.broken.example.", dns.RcodeServerFailure)
	ctx := context.Background()

	d, err := c.Discover(ctx, "mail.a.example")
	if err != nil || d.PolicyDomain != "a.example" || d.OrgDomain != "a.example" || d.Record.P != policy.ActionReject || d.Method != OrgTreeWalk {
		t.Fatalf("Discover(mail.a.example) = %+v, %v", d, err)
	}
	if _, err := c.Discover(ctx, "nothing.example"); !errors.Is(err, policy.ErrNoRecord) {
		t.Errorf("Discover without a record: %v, want ErrNoRecord", err)
	}
	if _, err := c.Discover(ctx, "broken.example"); err == nil || !resolver.IsTemporary(err) {
		t.Errorf("Discover with SERVFAIL: %v, want a temporary error", err)
	}
	if got := c.OrgDomain(ctx, "deep.mail.a.example"); got != "a.example" {
		t.Errorf("OrgDomain(deep.mail.a.example) = %q", got)
	}
	if got := c.OrgDomain(ctx, "x.broken.example"); got != "x.broken.example" {
		t.Errorf("OrgDomain when the walk fails = %q, want the domain itself", got)
	}

	psl := *c
	psl.OrgMethod = OrgPSL
	d, err = psl.Discover(ctx, "mail.a.example.com")
	if err != nil || d.PolicyDomain != "example.com" || d.Method != OrgPSL {
		t.Fatalf("PSL Discover = %+v, %v", d, err)
	}
	if got := psl.OrgDomain(ctx, "mail.a.example.com"); got != "example.com" {
		t.Errorf("PSL OrgDomain = %q", got)
	}

	bad := *c
	bad.OrgMethod = "dice"
	if _, err := bad.Discover(ctx, "a.example"); !errors.Is(err, ErrOrgMethod) {
		t.Errorf("unknown method: %v", err)
	}
}

func TestNew(t *testing.T) {
	res, err := resolver.New(resolver.Config{Servers: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(res, "dice", 0); !errors.Is(err, ErrOrgMethod) {
		t.Errorf("New with an unknown method: %v", err)
	}
	if _, err := New(nil, "", 0); err == nil {
		t.Error("New with no resolver succeeded")
	}
	if _, err := New(res, "", -1); err == nil {
		t.Error("New with a negative limit succeeded")
	}
	c, err := New(res, OrgPSL, 0)
	if err != nil || c.maxSignatures() != DefaultMaxSignatures {
		t.Errorf("New = %+v, %v", c, err)
	}
}

func TestNonExistent(t *testing.T) {
	c, srv := newTestChecker(t, dmarcZone())
	srv.Fail("servfail.example.", dns.RcodeServerFailure)
	tests := []struct {
		domain  string
		want    bool
		wantErr bool
	}{
		{"nowhere.example", true, false},
		{"deep.nowhere.example", true, false},
		{"exists.example", false, false},
		{"mxonly.example", false, false},
		{"txtonly.example", false, false},
		{"ent.example", false, false}, // empty non-terminal: NODATA
		{"v6only.example", false, false},
		{"servfail.example", false, true},
	}
	for _, tt := range tests {
		got, err := c.NonExistent(context.Background(), tt.domain)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("NonExistent(%s) = %v, %v; want %v, error %v", tt.domain, got, err, tt.want, tt.wantErr)
		}
		if tt.wantErr && !resolver.IsTemporary(err) {
			t.Errorf("NonExistent(%s) error %v is not temporary", tt.domain, err)
		}
	}
	if n := srv.QueryCount("mxonly.example.", dns.TypeA); n != 0 {
		t.Errorf("an MX answer should end the check; A was asked %d times", n)
	}
}
