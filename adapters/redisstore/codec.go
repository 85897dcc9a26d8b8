package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"wxbackend/domain"
)

// A token's value is a small binary record, not JSON: a version byte, the
// expiry in Unix milliseconds, (from version 2) the latest sliding may
// extend it to (0: none), (from version 3) when the login issued it (0:
// unknown), then the appid and openid, each prefixed by a one-byte length
// (every field is at most 64 bytes). Version 1 and 2 records, written
// before the limit and the issue time existed, still read (without them).
const codecVersion = 3

var errCorrupt = errors.New("redis: corrupt session record")

// tokenRecord is stored under a token's digest.
type tokenRecord struct {
	appID, openID string
	expiresAt     time.Time
	limit         time.Time // zero: none
	issued        time.Time // zero: unknown
}

func (r tokenRecord) encode() []byte {
	b := make([]byte, 0, 1+24+2+len(r.appID)+len(r.openID))
	b = append(b, codecVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.expiresAt.UnixMilli()))
	var limit int64
	if !r.limit.IsZero() {
		limit = r.limit.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(limit))
	var issued int64
	if !r.issued.IsZero() {
		issued = r.issued.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(issued))
	b = appendString(b, r.appID)
	return appendString(b, r.openID)
}

func decodeToken(b []byte) (tokenRecord, error) {
	if len(b) < 9 || b[0] < 1 || b[0] > codecVersion {
		return tokenRecord{}, errCorrupt
	}
	r := tokenRecord{expiresAt: time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()}
	rest := b[9:]
	// Each later version adds one time, 0 when absent.
	for _, t := range []*time.Time{&r.limit, &r.issued}[:b[0]-1] {
		if len(rest) < 8 {
			return tokenRecord{}, errCorrupt
		}
		if ms := int64(binary.BigEndian.Uint64(rest[:8])); ms != 0 {
			*t = time.UnixMilli(ms).UTC()
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

// A user's copy (the user cache's, usercache.go) is binary too, as it is
// read by most requests: a version byte, the revision and the row id
// (8 bytes each, big-endian, where the put script compares them), then the
// creation and update times (Unix microseconds), the fields the user set
// and the gender (varints), then its texts, each prefixed by its length (a
// uvarint). A copy of another version, or one that does not decode, reads
// as none: it is a cache.
const userVersion = 4 // 4: the avatar review (state, pending, trace_id, since)

// userHeader is the length of the version byte, revision and id.
const userHeader = 1 + 8 + 8

func encodeUser(u domain.User) []byte {
	texts := [...]string{u.UnionID, u.Profile.NickName, u.Profile.AvatarURL, u.Profile.Language, u.Profile.City,
		u.Profile.Province, u.Profile.Country, u.Avatar, u.Phone.Number, u.Phone.PureNumber, u.Phone.CountryCode,
		string(u.Review.State), u.Review.Pending, u.Review.TraceID}
	n := userHeader + 5*binary.MaxVarintLen64
	for _, t := range texts {
		n += binary.MaxVarintLen64 + len(t)
	}
	b := make([]byte, 0, n)
	b = append(b, userVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(u.Revision))
	b = binary.BigEndian.AppendUint64(b, uint64(u.ID))
	b = binary.AppendVarint(b, u.CreatedAt.UnixMicro())
	b = binary.AppendVarint(b, u.UpdatedAt.UnixMicro())
	b = binary.AppendUvarint(b, uint64(u.UserSet))
	b = binary.AppendVarint(b, int64(u.Profile.Gender))
	var since int64 // 0: the zero time
	if !u.Review.Since.IsZero() {
		since = u.Review.Since.UnixMicro()
	}
	b = binary.AppendVarint(b, since)
	for _, t := range texts {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return b
}

// decodeUser reads the copy of the user id; ok is false for anything
// unreadable.
func decodeUser(b []byte, id domain.Identity) (domain.User, bool) {
	if len(b) < userHeader || b[0] != userVersion {
		return domain.User{}, false
	}
	u := domain.User{AppID: id.AppID, OpenID: id.OpenID,
		Revision: int64(binary.BigEndian.Uint64(b[1:9])), ID: int64(binary.BigEndian.Uint64(b[9:17]))}
	r := userReader{b: b[userHeader:]}
	u.CreatedAt = time.UnixMicro(r.varint()).UTC()
	u.UpdatedAt = time.UnixMicro(r.varint()).UTC()
	u.UserSet = domain.Fields(r.uvarint())
	u.Profile.Gender = int(r.varint())
	if since := r.varint(); since != 0 {
		u.Review.Since = time.UnixMicro(since).UTC()
	}
	var state string
	for _, t := range [...]*string{&u.UnionID, &u.Profile.NickName, &u.Profile.AvatarURL, &u.Profile.Language, &u.Profile.City,
		&u.Profile.Province, &u.Profile.Country, &u.Avatar, &u.Phone.Number, &u.Phone.PureNumber, &u.Phone.CountryCode,
		&state, &u.Review.Pending, &u.Review.TraceID} {
		*t = r.text()
	}
	u.Review.State = domain.AvatarState(state)
	if r.bad || len(r.b) != 0 {
		return domain.User{}, false
	}
	return u, true
}

// userReader reads a copy's varints and texts, remembering a failure.
type userReader struct {
	b   []byte
	bad bool
}

func (r *userReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *userReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *userReader) text() string {
	l, n := binary.Uvarint(r.b)
	if n <= 0 || uint64(len(r.b)-n) < l {
		r.bad = true
		return ""
	}
	s := string(r.b[n : n+int(l)])
	r.b = r.b[n+int(l):]
	return s
}
