package auth

import (
	"strings"
	"testing"
)

func TestParseSigTags(t *testing.T) {
	longB := strings.Repeat("AbCd", 30)
	for _, tc := range []struct {
		value string
		want  sigTags
	}{
		{" v=1; a=RSA-SHA256; d=Example.COM.; s=sel;\r\n\th=from; bh=x=; b=" + longB[:20] + "\r\n " + longB[20:],
			sigTags{"example.com", "sel", "rsa-sha256", longB[:maxHeaderB], 1}},
		{"d=first.example; d=second.example; s = a b ; a=ed25519-sha256; b=short==; h=From : To:\r\n\tSubject; h=x",
			sigTags{"first.example", "ab", "ed25519-sha256", "short==", 3}},
		{"dd=x; ds=y; =z; d; b=\r\n", sigTags{}},
		{"", sigTags{}},
	} {
		if got := parseSigTags(tc.value); got != tc.want {
			t.Errorf("parseSigTags(%q) = %+v, want %+v", tc.value, got, tc.want)
		}
	}
}
