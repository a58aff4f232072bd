package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"

	"dmarcgate/resolver/resolvertest"
)

// spfLoopback authorizes every client the load can come from.
const spfLoopback = "v=spf1 ip4:127.0.0.0/8 -all"

// buildZone publishes, for each sender domain, SPF for 127.0.0.0/8,
// DMARC p=reject (with rua= when rua) and, when keys is not nil, the DKIM key at
// sel._domainkey (RFC 6376 §3.6.2.1); and SPF for the spoofer's envelope
// domain, which has no DMARC record of its own.
func buildZone(domains int, keys []*rsa.PrivateKey, rua bool) (resolvertest.Zone, error) {
	zone := resolvertest.Zone{}
	for i := range domains {
		d := senderDomain(i) + "."
		zone[d] = []string{txt(d, spfLoopback)}
		record := "v=DMARC1; p=reject"
		if rua { // aggregate rows are recorded only for a domain that asks for reports
			record += "; rua=mailto:agg@" + senderDomain(i)
		}
		zone["_dmarc."+d] = []string{txt("_dmarc."+d, record)}
		if keys != nil {
			der, err := x509.MarshalPKIXPublicKey(&keys[i].PublicKey)
			if err != nil {
				return nil, fmt.Errorf("dkim public key: %w", err)
			}
			name := selector + "._domainkey." + d
			zone[name] = []string{txt(name, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))}
		}
	}
	zone[spooferDomain+"."] = []string{txt(spooferDomain+".", spfLoopback)}
	return zone, nil
}

// txt writes a TXT record in zone-file syntax, split into strings of at
// most 255 bytes (RFC 1035 §3.3.14). value must hold no quote or backslash.
func txt(owner, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return fmt.Sprintf("%s 3600 IN TXT %s", owner, strings.Join(parts, " "))
}
