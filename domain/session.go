package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"time"
)

// TokenBytes is the entropy of a session token: 256 bits.
const TokenBytes = 32

// secretLen is the length of a token's secret part: unpadded URL-safe base64
// of TokenBytes.
var secretLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// tagBytes is the size of a user tag: 128 bits, so two users share one with
// a chance of about n²/2¹²⁹ among n users.
const tagBytes = 16

// tagLen is the length of a user tag's text.
var tagLen = base64.RawURLEncoding.EncodedLen(tagBytes)

const redacted = "[redacted]"

// Token is the opaque bearer credential a client holds: TokenBytes of
// randomness and, after a dot, its user's tag (UserTag), which tells a
// session store where the user's session data lives (a Redis Cluster slot,
// say) before it reads anything. Its String, LogValue and JSON forms are redacted so
// that a token cannot reach a log by accident; Reveal returns the text for
// the one place that hands it to the client.
type Token struct{ s string }

// NewToken makes a token's secret from TokenBytes of randomness; a login
// hands it out only WithTag.
func NewToken(random [TokenBytes]byte) Token {
	return Token{s: base64.RawURLEncoding.EncodeToString(random[:])}
}

// WithTag returns t carrying the user tag tag (from UserTag).
func (t Token) WithTag(tag string) Token {
	if len(t.s) < secretLen {
		return t
	}
	return Token{s: t.s[:secretLen] + "." + tag}
}

// UserTag returns the tag of a user: a digest of its identity, so that it
// names no one, of fixed length.
func UserTag(id Identity) string {
	h := sha256.New()
	h.Write([]byte("wxbackend user tag\x00"))
	h.Write([]byte(id.AppID))
	h.Write([]byte{0})
	h.Write([]byte(id.OpenID))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:tagBytes])
}

// ParseToken checks that s has the shape of a token (length and alphabet) without
// looking it up: a secret, a dot and a tag. A malformed token is
// unauthenticated, as an unknown one is.
func ParseToken(s string) (Token, error) {
	if s == "" {
		return Token{}, Wrap(KindUnauthenticated, errMissingToken)
	}
	if len(s) != secretLen+1+tagLen || s[secretLen] != '.' || !base64URL(s[:secretLen]) || !base64URL(s[secretLen+1:]) {
		return Token{}, Wrap(KindUnauthenticated, errTokenShape)
	}
	return Token{s: s}, nil
}

// base64URL reports whether s is all of the URL-safe base64 alphabet.
func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errMissingToken = constError("no token")
	errTokenShape   = constError("token is malformed")
)

// Reveal returns the token's text. Call it only to hand the token to its owner.
func (t Token) Reveal() string { return t.s }

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.s == "" }

// Digest returns the SHA-256 of the token's whole text, the only form in
// which stores keep it, and its tag.
func (t Token) Digest() TokenDigest {
	var text [96]byte // a token's length (ParseToken): its bytes stay on the stack
	d := TokenDigest{Sum: sha256.Sum256(append(text[:0], t.s...))}
	if len(t.s) > secretLen {
		d.Tag = t.s[secretLen+1:]
	}
	return d
}

func (Token) String() string                    { return redacted }
func (Token) LogValue() slog.Value              { return slog.StringValue(redacted) }
func (Token) MarshalJSON() ([]byte, error)      { return []byte(`"` + redacted + `"`), nil }
func (Token) GoString() string                  { return redacted }
func (d TokenDigest) String() string            { return base64.RawURLEncoding.EncodeToString(d.Sum[:8]) + "…" }
func (SessionKey) String() string               { return redacted }
func (SessionKey) GoString() string             { return redacted }
func (SessionKey) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (SessionKey) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// TokenDigest is what a store knows of a token: the SHA-256 of its text (a
// store keyed by digests yields no usable token if it is dumped) and the
// tag it carries ("" for a token without one).
type TokenDigest struct {
	Sum [sha256.Size]byte
	Tag string
}

// SessionKey is the key WeChat gives for one user of one app at each login: 16
// bytes, sent in base64. It is held decoded (no pointer, nothing to allocate).
// Its printed forms are redacted; Base64 and Bytes are for the decrypter, the
// signature check and the session store's encoding only.
type SessionKey struct {
	raw [SessionKeyBytes]byte
	ok  bool
}

// SessionKeyBytes is the size of a decoded session key (AES-128).
const SessionKeyBytes = 16

var errSessionKey = Wrap(KindUpstream, constError("session_key is not 16 bytes of base64"))

// ParseSessionKey validates the base64 text of a session key. The text must be
// canonical (as WeChat's are), so Base64 gives it back exactly, as the
// signature check needs.
func ParseSessionKey(b64 string) (SessionKey, error) {
	var buf [18]byte // 24 characters decode to at most 18 bytes
	if len(b64) != base64.StdEncoding.EncodedLen(SessionKeyBytes) {
		return SessionKey{}, errSessionKey
	}
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(b64))
	if err != nil || n != SessionKeyBytes {
		return SessionKey{}, errSessionKey
	}
	k := SessionKey{ok: true}
	copy(k.raw[:], buf[:n])
	return k, nil
}

// Base64 returns the key as WeChat sent it.
func (k SessionKey) Base64() string { return base64.StdEncoding.EncodeToString(k.raw[:]) }

// AppendBase64 appends the key as WeChat sent it to dst.
func (k SessionKey) AppendBase64(dst []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, k.raw[:])
}

// Bytes returns the decoded key.
func (k SessionKey) Bytes() []byte {
	raw := k.raw
	return raw[:]
}

// IsZero reports whether k holds no key.
func (k SessionKey) IsZero() bool { return !k.ok }

// Session is what the server keeps for a logged-in client. The session key is
// the user's newest: a store returns, for every live token of a user, the key of
// that user's latest login, since WeChat replaces the key at every wx.login.
type Session struct {
	AppID      string
	OpenID     string
	UnionID    string
	SessionKey SessionKey
	ExpiresAt  time.Time
	// MaxExpiresAt is the latest sliding expiry may extend the session to
	// (its absolute maximum age); zero for no limit.
	MaxExpiresAt time.Time
	// IssuedAt is when the login made the session; zero for a session
	// stored before stores kept it.
	IssuedAt time.Time
}

// Identity returns the identity of the session's user.
func (s Session) Identity() Identity { return Identity{AppID: s.AppID, OpenID: s.OpenID} }

// Expired reports whether the session is past its expiry, or its maximum
// age, at now.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || (!s.MaxExpiresAt.IsZero() && !now.Before(s.MaxExpiresAt))
}
