package domain

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"
)

// AccessToken is a WeChat server-API access_token. It grants the app's
// server powers, so it prints redacted; Reveal gives it to the one call
// that sends it.
type AccessToken struct{ s string }

// NewAccessToken wraps the text WeChat returned.
func NewAccessToken(s string) AccessToken { return AccessToken{s: s} }

// Reveal returns the token's text, for the request that carries it.
func (t AccessToken) Reveal() string { return t.s }

// IsZero reports whether t holds no token.
func (t AccessToken) IsZero() bool { return t.s == "" }

func (AccessToken) String() string               { return redacted }
func (AccessToken) GoString() string             { return redacted }
func (AccessToken) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (AccessToken) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// CachedToken is an access token as the servers share it: the token, when
// WeChat said it expires, and when a server should fetch the next one (a
// jittered fraction of its life, so servers do not all refresh at once).
type CachedToken struct {
	Token     AccessToken
	ExpiresAt time.Time
	RefreshAt time.Time
}

// Fresh reports whether the token needs no refresh at now.
func (c CachedToken) Fresh(now time.Time) bool { return !c.Token.IsZero() && now.Before(c.RefreshAt) }

// Usable reports whether the token may still be used at now (its refresh is
// due, but it has not expired).
func (c CachedToken) Usable(now time.Time) bool { return !c.Token.IsZero() && now.Before(c.ExpiresAt) }

// Phone is a user's phone number as WeChat gives it. It is personal data:
// its printed and logged forms are masked (138****8000).
type Phone struct {
	Number      string // with the country code for numbers outside China, e.g. "+1 202-555-0100"
	PureNumber  string // without it, e.g. "13800138000"
	CountryCode string // e.g. "86"
}

// IsZero reports whether p holds no number.
func (p Phone) IsZero() bool { return p.PureNumber == "" && p.Number == "" }

// Masked returns the number with its middle hidden: 138****8000.
func (p Phone) Masked() string { return MaskPhone(p.PureNumber) }

func (p Phone) String() string       { return p.Masked() }
func (p Phone) GoString() string     { return p.Masked() }
func (p Phone) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// MaskPhone hides the middle of a phone number: the first three and the
// last four digits stay (138****8000); a short one is hidden whole.
func MaskPhone(n string) string {
	if n == "" {
		return ""
	}
	if len(n) < 8 {
		return strings.Repeat("*", len(n))
	}
	return n[:3] + strings.Repeat("*", len(n)-7) + n[len(n)-4:]
}

// MaxPhoneLen bounds a phone number's text.
const MaxPhoneLen = 32

// PhoneInfo is WeChat's answer for a phone number, from
// getuserphonenumber or a decrypted getPhoneNumber payload.
type PhoneInfo struct {
	Phone     Phone
	Watermark Watermark
	// Decrypted tells a payload the client sent (ParsePhoneInfo) from
	// WeChat's server-to-server answer: only a payload's watermark can be
	// old, and only a payload's faults are the client's.
	Decrypted bool
}

// CheckPhone applies the rules a phone answer must pass for session s: the
// watermark names s's app, a decrypted payload's watermark is at most maxAge
// old as CheckUserInfo has it, and the number is one. A number that is not
// one is WeChat's fault in its own answer (KindUpstream), the client's in a
// payload it sent (KindUndecryptable, as ParsePhoneInfo says).
func CheckPhone(s Session, info PhoneInfo, now time.Time, maxAge time.Duration) (Phone, error) {
	if !info.Decrypted {
		maxAge = 0
	}
	if err := checkWatermark(s, info.Watermark, now, maxAge); err != nil {
		return Phone{}, err
	}
	bad := KindUpstream
	if info.Decrypted {
		bad = KindUndecryptable
	}
	p := info.Phone
	if p.PureNumber == "" || len(p.PureNumber) > MaxPhoneLen || len(p.Number) > MaxPhoneLen || len(p.CountryCode) > 8 {
		return Phone{}, Wrap(bad, constError("phone answer without a number"))
	}
	for _, r := range p.PureNumber {
		if r < '0' || r > '9' {
			return Phone{}, Wrap(bad, constError("phone answer with a number that is not digits"))
		}
	}
	return Phone{Number: CleanText(p.Number, MaxPhoneLen), PureNumber: p.PureNumber, CountryCode: CleanText(p.CountryCode, 8)}, nil
}

// Verdict is WeChat's content check of a text.
type Verdict string

// The verdicts of msg_sec_check (version 2).
const (
	VerdictPass   Verdict = "pass"
	VerdictReview Verdict = "review"
	VerdictRisky  Verdict = "risky"
)

// phoneJSON is the wire shape of a phone answer, with WeChat's names.
type phoneJSON struct {
	PhoneNumber     string     `json:"phoneNumber"`
	PurePhoneNumber string     `json:"purePhoneNumber"`
	CountryCode     string     `json:"countryCode"`
	Watermark       *Watermark `json:"watermark"`
}

// ParsePhoneInfo parses a decrypted getPhoneNumber payload. Anything that
// is not a JSON object with a number is undecryptable, as for user info: a
// payload without one was altered by its sender (spliced ciphertext), which
// is the client's fault, never WeChat's.
func ParsePhoneInfo(plain []byte) (PhoneInfo, error) {
	var w phoneJSON
	if err := json.Unmarshal(plain, &w); err != nil {
		return PhoneInfo{}, Wrap(KindUndecryptable, err)
	}
	if w.PurePhoneNumber == "" {
		return PhoneInfo{}, Wrap(KindUndecryptable, constError("phone payload without a number"))
	}
	info := PhoneInfo{Phone: Phone{Number: w.PhoneNumber, PureNumber: w.PurePhoneNumber, CountryCode: w.CountryCode}, Decrypted: true}
	if w.Watermark != nil {
		info.Watermark = *w.Watermark
	}
	return info, nil
}
