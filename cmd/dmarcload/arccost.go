package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"dmarcgate/auth"
	"dmarcgate/auth/arc"
	"dmarcgate/resolver/resolvertest"
)

// The list that seals the messages of -arc-cost, as a mailing list or a
// forwarding mailbox provider would (RSA 2048, as the large sealers use).
const (
	arcSealerDomain = "lists.bench.example"
	arcSelector     = "arc"
)

// sealedWorkload is w with one ARC set (i=1) on every legitimate
// message, sealed up front by the list: what the gateway then verifies
// (RFC 8617 §5.2) is all the run adds.
func sealedWorkload(w *workload, key *rsa.PrivateKey) (*workload, error) {
	s := &arc.Sealer{Domain: arcSealerDomain, Selector: arcSelector, Key: key}
	out := *w
	out.legit = make([]message, len(w.legit))
	for i, m := range w.legit {
		end := auth.HeaderEnd(m.data)
		bh := arc.NewBodyHasher(arc.Relaxed, sha256.New(), -1)
		_, _ = bh.Write(m.data[end:])
		domain := m.from[bytes.IndexByte([]byte(m.from), '@')+1:]
		set, err := s.Seal(arc.SealInput{Header: m.data[:end], BodyHash: bh.Sum(), AuthservID: arcSealerDomain, Chain: arc.None,
			Results: []string{"spf=pass smtp.mailfrom=" + domain, "dkim=pass header.d=" + domain, "dmarc=pass header.from=" + domain}})
		if err != nil {
			return nil, fmt.Errorf("arc seal: %w", err)
		}
		out.legit[i] = message{from: m.from, data: append(set, m.data...)}
	}
	return &out, nil
}

// arcKey makes the list's key and publishes it in zone.
func arcKey(zone resolvertest.Zone) (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("rsa key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	name := arc.KeyName(arcSelector, arcSealerDomain) + "."
	zone[name] = []string{txt(name, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))}
	return k, nil
}
