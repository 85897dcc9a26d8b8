package domain

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Fields is a set of profile fields, to record who set each.
type Fields uint8

// The profile fields.
const (
	FieldNickName Fields = 1 << iota
	FieldAvatar
	FieldGender
	FieldLanguage
	FieldCity
	FieldProvince
	FieldCountry
)

// AllFields is every profile field.
const AllFields = FieldNickName | FieldAvatar | FieldGender | FieldLanguage | FieldCity | FieldProvince | FieldCountry

// AnonymousNickName is the nickname WeChat's getUserInfo and getUserProfile
// answer since 2021 and 2022 instead of the user's.
const AnonymousNickName = "微信用户"

// defaultAvatarPath identifies WeChat's grey default avatar, on any of its
// image hosts and at any size.
const defaultAvatarPath = "/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/"

// IsDefaultAvatar reports whether url is WeChat's grey default avatar.
func IsDefaultAvatar(url string) bool { return strings.Contains(url, defaultAvatarPath) }

// ApplyWeChat merges the profile of a decrypted getUserInfo/getUserProfile
// payload into u and reports whether u changed. The precedence:
//
//  1. a field the user filled in (UserSet) is never changed by a payload;
//  2. WeChat's anonymous placeholders carry nothing and change nothing: the
//     nickname "微信用户", the grey default avatar, gender 0, empty text
//     (and text that is empty once cleaned: a nickname with nothing
//     visible, an avatar URL not on WeChat's image hosts);
//  3. anything else the payload holds replaces what an earlier payload held.
//
// Payload fields are user-controlled (AES-CBC has no integrity: a user can
// splice their own ciphertext to make its first block anything), so they
// are kept only as a profile, never as an identity, and cleaned as a user's
// edit is (CleanText, the edit's bounds).
func (u *User) ApplyWeChat(p Profile) bool {
	p = p.fromPayload()
	changed := false
	text := func(f Fields, dst *string, v string) {
		if v == "" || u.UserSet&f != 0 || *dst == v {
			return
		}
		*dst, changed = v, true
	}
	if p.NickName != AnonymousNickName {
		text(FieldNickName, &u.Profile.NickName, p.NickName)
	}
	if !IsDefaultAvatar(p.AvatarURL) {
		text(FieldAvatar, &u.Profile.AvatarURL, p.AvatarURL)
	}
	if p.Gender != 0 && u.UserSet&FieldGender == 0 && u.Profile.Gender != p.Gender {
		u.Profile.Gender, changed = p.Gender, true
	}
	text(FieldLanguage, &u.Profile.Language, p.Language)
	text(FieldCity, &u.Profile.City, p.City)
	text(FieldProvince, &u.Profile.Province, p.Province)
	text(FieldCountry, &u.Profile.Country, p.Country)
	return changed
}

// ProfileEdit is what a user filled in: the fields sent, and their values.
// Build it with NewProfileEdit, which checks and cleans every value.
type ProfileEdit struct {
	fields  Fields
	profile Profile
}

// ProfileInput is a user's edit as it arrives: a field is sent when its
// pointer is not nil.
type ProfileInput struct {
	NickName, Language, City, Province, Country *string
	Gender                                      *int
}

// NewProfileEdit checks and cleans a user's edit: the nickname as
// CleanNickName says, a gender of 0, 1 or 2, the other fields by Sanitized's
// rules. Nothing sent is invalid input.
func NewProfileEdit(in ProfileInput) (ProfileEdit, error) {
	var e ProfileEdit
	if in.NickName != nil {
		nick, err := CleanNickName(*in.NickName)
		if err != nil {
			return ProfileEdit{}, err
		}
		e.fields |= FieldNickName
		e.profile.NickName = nick
	}
	if in.Gender != nil {
		if *in.Gender < 0 || *in.Gender > 2 {
			return ProfileEdit{}, Malformed("gender", "must be 0 (unknown), 1 or 2")
		}
		e.fields |= FieldGender
		e.profile.Gender = *in.Gender
	}
	for _, f := range []struct {
		field Fields
		in    *string
		out   *string
		max   int
	}{
		{FieldLanguage, in.Language, &e.profile.Language, MaxLanguageLen},
		{FieldCity, in.City, &e.profile.City, MaxPlaceLen},
		{FieldProvince, in.Province, &e.profile.Province, MaxPlaceLen},
		{FieldCountry, in.Country, &e.profile.Country, MaxPlaceLen},
	} {
		if f.in != nil {
			e.fields |= f.field
			*f.out = cleanPlace(*f.in, f.max)
		}
	}
	if e.fields == 0 {
		return ProfileEdit{}, Missing("nickName, gender, language, city, province or country")
	}
	return e, nil
}

// NickName returns the nickname the edit sets, if it sets one.
func (e ProfileEdit) NickName() (string, bool) {
	return e.profile.NickName, e.fields&FieldNickName != 0
}

// Fields returns the fields the edit sets.
func (e ProfileEdit) Fields() Fields { return e.fields }

// ApplyUser sets the edit's fields on u and records them as the user's own,
// so no WeChat payload changes them again. It reports whether u changed.
func (u *User) ApplyUser(e ProfileEdit) bool {
	before := *u
	p := &u.Profile
	if e.fields&FieldNickName != 0 {
		p.NickName = e.profile.NickName
	}
	if e.fields&FieldGender != 0 {
		p.Gender = e.profile.Gender
	}
	if e.fields&FieldLanguage != 0 {
		p.Language = e.profile.Language
	}
	if e.fields&FieldCity != 0 {
		p.City = e.profile.City
	}
	if e.fields&FieldProvince != 0 {
		p.Province = e.profile.Province
	}
	if e.fields&FieldCountry != 0 {
		p.Country = e.profile.Country
	}
	u.UserSet |= e.fields
	return u.Profile != before.Profile || u.UserSet != before.UserSet
}

// SetAvatar records the avatar the user uploaded and returns the one it
// replaces ("" for none).
func (u *User) SetAvatar(name string) (replaced string) {
	replaced, u.Avatar = u.Avatar, name
	u.UserSet |= FieldAvatar
	return replaced
}

// MaxNickNameRunes bounds a nickname the user types. WeChat's nickname input
// takes about 20 characters; the bound leaves room for emoji sequences and for
// profiles written before the input existed, and stays well inside the
// database column (MaxNickNameLen).
const MaxNickNameRunes = 64

// CleanNickName returns a nickname fit to keep: cleaned by CleanText
// (controls, bidirectional controls, invalid UTF-8, spaces around), and at
// most MaxNickNameRunes characters. Emoji and their joiners (ZWJ, variation
// selectors) are kept intact: a nickname that is too long is refused, never
// cut through a sequence. Unicode normalization (NFC) is the transport's,
// which reads the text. Nothing visible after cleaning (only spaces or
// zero-width characters), or too long: invalid input.
func CleanNickName(s string) (string, error) {
	s = CleanText(s, -1)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", Malformed("nickName", "is empty")
	case n > MaxNickNameRunes:
		return "", Malformed("nickName", "is longer than 64 characters")
	}
	return s, nil
}

// BlobNameBytes is the randomness in a blob's name: 256 bits.
const BlobNameBytes = 32

// NewBlobName is the name of a new blob: random (BlobNameBytes of it, from
// crypto/rand in production) in hex, then ext (".jpg"). Names are random, not digests of
// the content, so nobody can compute a picture's name outside and learn
// whether some user has it, and no two uploads share a blob (each has one
// owner, and its lifetime is that owner's). Names made by content
// (SHA-256) before have the same shape and stay valid.
func NewBlobName(random [BlobNameBytes]byte, ext string) string {
	return hex.EncodeToString(random[:]) + ext
}

// ValidBlobName reports whether s has the shape NewBlobName gives (64 lower-case
// hex digits, a dot and 2 to 4 lower-case letters), so a name from a URL can
// be trusted as a file or object name.
func ValidBlobName(s string) bool {
	hexPart, ext, ok := strings.Cut(s, ".")
	if !ok || len(hexPart) != 64 || len(ext) < 2 || len(ext) > 4 {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	for i := 0; i < len(ext); i++ {
		if c := ext[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
