// Package tlsconf holds the TLS settings shared by every TLS endpoint of
// dmarcgate (the SMTP and console listeners, outbound STARTTLS). It does
// not load certificates.
package tlsconf

import "crypto/tls"

// CipherSuites are the TLS 1.2 suites we agree to: ECDHE key exchange
// with an AEAD cipher (RFC 9325 §4.2). The CBC suites with HMAC-SHA1 are
// left out (padding oracles, Lucky Thirteen), and so is RSA key exchange
// (no forward secrecy). TLS 1.3's suites are not configurable, and all
// are fine.
func CipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}
