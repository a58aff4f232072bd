package main

import (
	"context"
	"testing"
	"time"

	"dmarcgate/auth/arc"
	"dmarcgate/resolver"
	"dmarcgate/resolver/resolvertest"
)

// The sealed messages of -arc-cost validate: the run measures a passing
// chain, the common and costlier case.
func TestSealedWorkloadValidates(t *testing.T) {
	o := testOptions(10, 1, 4096)
	keys, err := generateKeys(o.domains)
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorkload(o, keys)
	if err != nil {
		t.Fatal(err)
	}
	zone := resolvertest.Zone{}
	key, err := arcKey(zone)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealedWorkload(w, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := resolvertest.Start(t, zone)
	res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := &arc.Verifier{Resolver: res}
	for i := range 3 {
		if r := v.Verify(context.Background(), sealed.message(i).data); r.Status != arc.Pass {
			t.Fatalf("message %d: %s (%s)", i, r.Status, r.Reason)
		}
		if len(w.message(i).data) >= len(sealed.message(i).data) {
			t.Fatal("not sealed")
		}
	}
}
