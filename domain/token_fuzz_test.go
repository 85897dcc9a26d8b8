package domain_test

import (
	"encoding/base64"
	"testing"

	"wxbackend/domain"
)

// FuzzParseToken: any text parses or fails as unauthenticated, never
// panics, and what parses is 43 characters of base64url (256 bits).
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x-EV-p_0123456789abcdefghijklmnopqrstuvwxyzAB",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "🎸", "' OR 1=1 --", "\x00"} {
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
		raw, derr := base64.RawURLEncoding.DecodeString(s)
		if tok.Reveal() != s || derr != nil || len(raw) != domain.TokenBytes {
			t.Fatalf("%q parsed, but it is not 256 bits of base64url", s)
		}
	})
}
