package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Identity identifies a user: WeChat's openid is unique per app only.
type Identity struct {
	AppID  string
	OpenID string
}

// Profile is what a user shares through wx.getUserInfo.
type Profile struct {
	NickName  string
	AvatarURL string
	Gender    int // 0 unknown, 1 male, 2 female, as WeChat sends it
	Language  string
	City      string
	Province  string
	Country   string
}

// User is a stored user: identity, profile and bookkeeping times (UTC).
type User struct {
	ID      int64
	AppID   string
	OpenID  string
	UnionID string
	Profile Profile
	// UserSet are the profile fields the user filled in themselves; a
	// WeChat payload never changes them (see ApplyWeChat).
	UserSet Fields
	// Avatar is the name of the avatar image the user uploaded, "" for none.
	// It takes precedence over Profile.AvatarURL, WeChat's.
	Avatar string
	// Phone is the number the user shared (getPhoneNumber), zero for none.
	Phone Phone
	// Review is where the user's last uploaded avatar stands in WeChat's
	// image check, for an app that checks them (see AvatarReview).
	Review AvatarReview
	// Linked are the user's accounts in the other apps served, found by
	// the unionid WeChat gave (never a payload's); filled in by the use
	// cases that show a profile, not stored.
	Linked    []Identity
	CreatedAt time.Time
	UpdatedAt time.Time
	// Revision is the stored user's revision, which every write moves on
	// (0: unknown). An update that starts from a copy of the user (a
	// cache's) writes only if the revision is still the copy's.
	Revision int64
}

// Identity returns the user's identity.
func (u User) Identity() Identity { return Identity{AppID: u.AppID, OpenID: u.OpenID} }

// Field widths, in characters (Unicode code points), shared by every database
// schema. Longer values are cut at the last whole character that fits: WeChat's
// data is authentic, so refusing a user for a long nickname would help no one.
const (
	MaxIDLen       = 64 // appid, openid, unionid
	MaxNickNameLen = 100
	MaxAvatarURLen = 1024
	MaxLanguageLen = 35
	MaxPlaceLen    = 100 // city, province, country
)

// Sanitized returns the profile fit for storage on every database: NUL
// characters removed (PostgreSQL rejects them in text), invalid UTF-8 replaced
// with U+FFFD, each field cut by whole characters to its width, and a gender
// outside 0..2 recorded as unknown. It keeps everything else byte for byte
// (the stores' contract); what a profile may hold is CleanText's rule, which
// every source applies before it reaches a store (ApplyWeChat, NewProfileEdit).
func (p Profile) Sanitized() Profile {
	p.NickName = fitText(p.NickName, MaxNickNameLen)
	p.AvatarURL = fitText(p.AvatarURL, MaxAvatarURLen)
	p.Language = fitText(p.Language, MaxLanguageLen)
	p.City = fitText(p.City, MaxPlaceLen)
	p.Province = fitText(p.Province, MaxPlaceLen)
	p.Country = fitText(p.Country, MaxPlaceLen)
	if p.Gender < 0 || p.Gender > 2 {
		p.Gender = 0
	}
	return p
}

// fitText drops NULs, repairs invalid UTF-8 and keeps at most max runes.
func fitText(s string, max int) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && len(s) <= max {
		return s // fast path: every rune takes at least one byte
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return cutRunes(s, max)
}

// fromPayload returns a decrypted payload's profile cleaned as a user's edit
// is: every text field by CleanText (places by cleanPlace) to the edit's
// bounds (a nickname with nothing visible is "", so it changes nothing), an
// avatar URL kept only on WeChat's image hosts (WeChatAvatarURL), and a
// gender outside 0..2 unknown.
func (p Profile) fromPayload() Profile {
	p.NickName = CleanText(p.NickName, MaxNickNameRunes)
	p.AvatarURL = WeChatAvatarURL(p.AvatarURL)
	p.Language = cleanPlace(p.Language, MaxLanguageLen)
	p.City = cleanPlace(p.City, MaxPlaceLen)
	p.Province = cleanPlace(p.Province, MaxPlaceLen)
	p.Country = cleanPlace(p.Country, MaxPlaceLen)
	if p.Gender < 0 || p.Gender > 2 {
		p.Gender = 0
	}
	return p
}

// CleanID returns an identifier (openid, unionid) fit for storage, by the same
// rules as profile text.
func CleanID(s string) string { return CleanText(s, MaxIDLen) }
