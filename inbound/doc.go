// Package inbound is the domain owner's side of DMARC: it keeps what the
// aggregate and failure reports other receivers send about our domains say
// (intake from the relay queue, a store of its own in the state database,
// retention), answers "domain, day range" questions over it, and advises on
// the next step of a domain's rollout (Advise, a pure function). It parses
// nothing itself (dmarcreport does) and sends nothing.
package inbound
