//go:debug rsa1024min=0

// The directive lets the tests make a 512-bit RSA key, which the standard
// library otherwise refuses, to show that DKIM verification itself
// rejects such keys (RFC 8301 §3.2). It applies to this test binary only.

package auth
