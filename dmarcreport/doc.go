// Package dmarcreport is the DMARC report formats as data: the aggregate
// report (RFC 9990, and RFC 7489's legacy form) with its parser and writer,
// the containers receivers wrap it in (gzip, zip, MIME mail), and the
// failure report (RFC 6591 ARF, RFC 9991). It is pure: no network, no disk
// beyond reading a named file, no clock. Every parser is bounded in the
// bytes it reads, what archives may expand to, and how deep wrappers nest.
// It does not decide what a report means: reporting/ writes what we send,
// inbound/ keeps what we receive.
package dmarcreport
