package domain_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"wxbackend/domain"
)

// FuzzParseToken: any text parses or fails as unauthenticated, never
// panics, and what parses is 43 characters of base64url (256 bits),
// optionally followed by a dot and a tag of 22 (128 bits).
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x-EV-p_0123456789abcdefghijklmnopqrstuvwxyzAB",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "🎸", "' OR 1=1 --", "\x00",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := domain.ParseToken(s)
		if err != nil {
			if domain.KindOf(err) != domain.KindUnauthenticated {
				t.Fatalf("%q: %v, want unauthenticated", s, err)
			}
			return
		}
		secret, tag, tagged := strings.Cut(s, ".")
		raw, derr := base64.RawURLEncoding.DecodeString(secret)
		if tok.Reveal() != s || derr != nil || len(raw) != domain.TokenBytes {
			t.Fatalf("%q parsed, but it is not 256 bits of base64url", s)
		}
		if rawTag, terr := base64.RawURLEncoding.DecodeString(tag); !tagged || terr != nil || len(rawTag) != 16 || tok.Digest().Tag != tag {
			t.Fatalf("%q parsed, but its tag is not 128 bits of base64url", s)
		}
	})
}
