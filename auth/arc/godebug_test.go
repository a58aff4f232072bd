//go:debug rsa1024min=0

// The directive lets the tests make an RSA key under 1024 bits, which the
// standard library otherwise refuses, to show that key parsing itself
// refuses such keys (RFC 8301 §3.2). It applies to this test binary only.

package arc
