package redisstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"wxbackend/domain"
)

// A token's value is a small binary record, not JSON: a version byte, the
// expiry in Unix milliseconds, (from version 2) the latest sliding may
// extend it to (0: none), then the appid and openid, each prefixed by a
// one-byte length (every field is at most 64 bytes). Version 1 records,
// written before the limit existed, still read.
const codecVersion = 2

var errCorrupt = errors.New("redis: corrupt session record")

// tokenRecord is stored under a token's digest.
type tokenRecord struct {
	appID, openID string
	expiresAt     time.Time
	limit         time.Time // zero: none
}

func (r tokenRecord) encode() []byte {
	b := make([]byte, 0, 1+16+2+len(r.appID)+len(r.openID))
	b = append(b, codecVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.expiresAt.UnixMilli()))
	var limit int64
	if !r.limit.IsZero() {
		limit = r.limit.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(limit))
	b = appendString(b, r.appID)
	return appendString(b, r.openID)
}

func decodeToken(b []byte) (tokenRecord, error) {
	if len(b) < 9 || (b[0] != 1 && b[0] != codecVersion) {
		return tokenRecord{}, errCorrupt
	}
	r := tokenRecord{expiresAt: time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()}
	rest := b[9:]
	if b[0] == codecVersion {
		if len(rest) < 8 {
			return tokenRecord{}, errCorrupt
		}
		if limit := int64(binary.BigEndian.Uint64(rest[:8])); limit != 0 {
			r.limit = time.UnixMilli(limit).UTC()
		}
		rest = rest[8:]
	}
	var ok bool
	if r.appID, rest, ok = readString(rest); !ok {
		return tokenRecord{}, errCorrupt
	}
	if r.openID, rest, ok = readString(rest); !ok || len(rest) != 0 {
		return tokenRecord{}, errCorrupt
	}
	return r, nil
}

func appendString(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255] // never reached: the domain caps ids at 64 bytes
	}
	return append(append(b, byte(len(s))), s...)
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// memoVersion is the version of a profile memo's JSON. A memo of another
// version, or one that does not parse, reads as none: it is a cache.
const memoVersion = 1

// memoRecord is a profile memo in a user's hash (field m). Short names: it
// is stored once per user.
type memoRecord struct {
	V        int       `json:"v"`
	Sent     []byte    `json:"s"`
	ID       int64     `json:"i"`
	UnionID  string    `json:"un,omitempty"`
	Nick     string    `json:"n,omitempty"`
	Avatar   string    `json:"a,omitempty"`
	Gender   int       `json:"g,omitempty"`
	Language string    `json:"l,omitempty"`
	City     string    `json:"c,omitempty"`
	Province string    `json:"p,omitempty"`
	Country  string    `json:"co,omitempty"`
	UserSet  uint8     `json:"us,omitempty"`
	Upload   string    `json:"up,omitempty"`
	Phone    string    `json:"ph,omitempty"`
	Pure     string    `json:"pp,omitempty"`
	CC       string    `json:"cc,omitempty"`
	Created  time.Time `json:"ct"`
	Updated  time.Time `json:"ut"`
}

func encodeMemo(m domain.ProfileMemo) ([]byte, error) {
	u := m.User
	return json.Marshal(memoRecord{V: memoVersion, Sent: m.Sent[:], ID: u.ID, UnionID: u.UnionID,
		Nick: u.Profile.NickName, Avatar: u.Profile.AvatarURL, Gender: u.Profile.Gender, Language: u.Profile.Language,
		City: u.Profile.City, Province: u.Profile.Province, Country: u.Profile.Country, UserSet: uint8(u.UserSet),
		Upload: u.Avatar, Phone: u.Phone.Number, Pure: u.Phone.PureNumber, CC: u.Phone.CountryCode,
		Created: u.CreatedAt, Updated: u.UpdatedAt})
}

// decodeMemo reads the memo of the user id; anything unreadable is no memo.
func decodeMemo(b []byte, id domain.Identity) domain.ProfileMemo {
	var r memoRecord
	if len(b) == 0 || json.Unmarshal(b, &r) != nil || r.V != memoVersion || len(r.Sent) != len(domain.ProfileDigest{}) {
		return domain.ProfileMemo{}
	}
	m := domain.ProfileMemo{User: domain.User{ID: r.ID, AppID: id.AppID, OpenID: id.OpenID, UnionID: r.UnionID,
		Profile: domain.Profile{NickName: r.Nick, AvatarURL: r.Avatar, Gender: r.Gender, Language: r.Language,
			City: r.City, Province: r.Province, Country: r.Country},
		UserSet: domain.Fields(r.UserSet), Avatar: r.Upload,
		Phone:     domain.Phone{Number: r.Phone, PureNumber: r.Pure, CountryCode: r.CC},
		CreatedAt: r.Created.UTC(), UpdatedAt: r.Updated.UTC()}}
	copy(m.Sent[:], r.Sent)
	return m
}
