// Package ipkey names the client a per-address limit counts: an IPv4
// address as it is, an IPv6 address by its network prefix (a /64 by
// default), since one host usually owns a whole /64 and may pick any
// address in it (RFC 4291 §2.5.1, RFC 6177). It holds no state.
package ipkey

import "net/netip"

// DefaultV6Prefix is the prefix length an IPv6 client is counted by.
const DefaultV6Prefix = 64

// Key returns the limit key of ip: an IPv4 address (or an IPv4-mapped
// IPv6 one) as it is, an IPv6 address as its prefix of v6Prefix bits
// ("2001:db8::/64"); v6Prefix outside 1..128 means DefaultV6Prefix. A
// string that is no address is its own key.
func Key(ip string, v6Prefix int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	if v6Prefix < 1 || v6Prefix > 128 {
		v6Prefix = DefaultV6Prefix
	}
	p, err := a.Prefix(v6Prefix)
	if err != nil {
		return ip
	}
	return p.String()
}
