package resolver

import "strings"

// txtBytes returns a TXT character-string as it was on the wire. miekg/dns
// keeps TXT strings in presentation format: a byte outside printable ASCII
// as \DDD, and '"' and '\' after a backslash. SPF, DKIM and DMARC records
// are read as their bytes (RFC 7208 §3.3 refuses a record with a byte
// outside ASCII, which \DDD would hide).
func txtBytes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
