package domain

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Watermark is the provenance WeChat adds to every encrypted payload.
type Watermark struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"`
}

// UserInfo is the decrypted payload of wx.getUserInfo.
type UserInfo struct {
	OpenID    string
	UnionID   string
	Profile   Profile
	Watermark Watermark
}

// userInfoJSON is the wire shape of the decrypted payload, with WeChat's names.
type userInfoJSON struct {
	OpenID    string          `json:"openId"`
	UnionID   string          `json:"unionId"`
	NickName  string          `json:"nickName"`
	AvatarURL string          `json:"avatarUrl"`
	Gender    json.RawMessage `json:"gender"`
	Language  string          `json:"language"`
	City      string          `json:"city"`
	Province  string          `json:"province"`
	Country   string          `json:"country"`
	Watermark *Watermark      `json:"watermark"`
}

// ParseUserInfo parses a decrypted payload. Anything that is not a JSON object of
// the expected shape is undecryptable: since it came out of the cipher, the
// client must not learn whether the padding, the JSON or a field was wrong.
// A payload without a watermark parses, and fails CheckUserInfo.
func ParseUserInfo(plain []byte) (UserInfo, error) {
	if info, ok := parseUserInfoPlain(plain); ok {
		return info, nil
	}
	return parseUserInfoJSON(plain)
}

// parseUserInfoJSON is ParseUserInfo by encoding/json.
func parseUserInfoJSON(plain []byte) (UserInfo, error) {
	var w userInfoJSON
	if err := json.Unmarshal(plain, &w); err != nil {
		return UserInfo{}, Wrap(KindUndecryptable, err)
	}
	info := UserInfo{
		OpenID:  w.OpenID,
		UnionID: w.UnionID,
		Profile: Profile{
			NickName:  w.NickName,
			AvatarURL: w.AvatarURL,
			Gender:    parseGender(w.Gender),
			Language:  w.Language,
			City:      w.City,
			Province:  w.Province,
			Country:   w.Country,
		},
	}
	if w.Watermark != nil {
		info.Watermark = *w.Watermark
	}
	return info, nil
}

// parseUserInfoPlain is ParseUserInfo for the payload WeChat writes: a valid
// JSON object whose fields carry exactly WeChat's names, once each, with
// strings free of escapes and valid UTF-8, a gender of one digit and a
// watermark object of an appid string and an integer timestamp. It copies
// the payload once and takes every field as a piece of that copy (one
// allocation, where encoding/json made 13). Anything else answers !ok and
// is left to parseUserInfoJSON, so both read every payload alike
// (TestParseUserInfoPlainAgrees, FuzzParseUserInfo).
func parseUserInfoPlain(plain []byte) (UserInfo, bool) {
	if !json.Valid(plain) {
		return UserInfo{}, false
	}
	var info UserInfo
	var seen uint16
	s := string(plain)
	ok := eachPlainField(s, func(name, raw string) bool {
		var k int
		var dst *string
		switch name {
		case "openId":
			k, dst = 0, &info.OpenID
		case "unionId":
			k, dst = 1, &info.UnionID
		case "nickName":
			k, dst = 2, &info.Profile.NickName
		case "avatarUrl":
			k, dst = 3, &info.Profile.AvatarURL
		case "language":
			k, dst = 4, &info.Profile.Language
		case "city":
			k, dst = 5, &info.Profile.City
		case "province":
			k, dst = 6, &info.Profile.Province
		case "country":
			k, dst = 7, &info.Profile.Country
		case "gender":
			k = 8
		case "watermark":
			k = 9
		default: // ignored, unless encoding/json would take it for a known name
			return !foldsToUserInfoField(name)
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		switch {
		case dst != nil:
			v, ok := plainString(raw)
			*dst = v
			return ok
		case k == 8:
			if len(raw) != 1 || raw[0] < '0' || raw[0] > '9' {
				return false
			}
			if g := int(raw[0] - '0'); g <= 2 {
				info.Profile.Gender = g
			}
			return true
		default:
			return plainWatermark(raw, &info.Watermark)
		}
	})
	return info, ok
}

// userInfoFields are the names encoding/json matches, case-insensitively.
var userInfoFields = []string{"openId", "unionId", "nickName", "avatarUrl", "gender", "language", "city",
	"province", "country", "watermark"}

func foldsToUserInfoField(name string) bool {
	for _, f := range userInfoFields {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// plainWatermark reads a watermark object of an appid string and an integer
// timestamp, each at most once.
func plainWatermark(raw string, wm *Watermark) bool {
	if raw[0] != '{' {
		return false
	}
	var seen uint8
	return eachPlainField(raw, func(name, v string) bool {
		switch name {
		case "appid":
			if seen&1 != 0 {
				return false
			}
			seen |= 1
			var ok bool
			wm.AppID, ok = plainString(v)
			return ok
		case "timestamp":
			if seen&2 != 0 {
				return false
			}
			seen |= 2
			n, err := strconv.ParseInt(v, 10, 64)
			wm.Timestamp = n
			return err == nil
		default:
			return !strings.EqualFold(name, "appid") && !strings.EqualFold(name, "timestamp")
		}
	})
}

// plainString returns the JSON string raw's content when it is one without
// escapes and valid UTF-8 (what it decodes to, as it is).
func plainString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	v := raw[1 : len(raw)-1]
	return v, strings.IndexByte(v, '\\') < 0 && utf8.ValidString(v)
}

// eachPlainField calls f with each name (escape-free, else !ok) and raw
// value of the JSON object obj, which json.Valid accepted, until f answers
// false; it answers false when obj is not an object or f did.
func eachPlainField(obj string, f func(name, raw string) bool) bool {
	i := skipJSONSpace(obj, 0)
	if obj[i] != '{' {
		return false
	}
	for i = skipJSONSpace(obj, i+1); obj[i] != '}'; {
		if obj[i] == ',' {
			i = skipJSONSpace(obj, i+1)
		}
		end := jsonStringEnd(obj, i)
		name := obj[i+1 : end-1]
		i = skipJSONSpace(obj, end)
		i = skipJSONSpace(obj, i+1) // the colon
		end = jsonValueEnd(obj, i)
		raw := obj[i:end]
		i = skipJSONSpace(obj, end)
		if strings.IndexByte(name, '\\') >= 0 || !f(name, raw) {
			return false
		}
	}
	return true
}

// The walkers below run on text json.Valid accepted: they do not check its
// syntax again.

func skipJSONSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonStringEnd returns the index just after the string starting at s[i].
func jsonStringEnd(s string, i int) int {
	for i++; s[i] != '"'; i++ {
		if s[i] == '\\' {
			i++ // the escaped byte; \uXXXX's hex digits are plain bytes
		}
	}
	return i + 1
}

// jsonValueEnd returns the index just after the value starting at s[i].
func jsonValueEnd(s string, i int) int {
	switch s[i] {
	case '"':
		return jsonStringEnd(s, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch s[i] {
			case '"':
				i = jsonStringEnd(s, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(s) && !strings.ContainsRune(",}] \t\r\n", rune(s[i])) {
		i++
	}
	return i
}

// parseGender accepts WeChat's number and, leniently, a numeric string.
func parseGender(raw json.RawMessage) int {
	raw = bytes.Trim(raw, `"`)
	g, err := strconv.Atoi(string(raw))
	if err != nil || g < 0 || g > 2 {
		return 0
	}
	return g
}

// maxClockSkew is how far in the future a watermark may be when its age is checked.
const maxClockSkew = 5 * time.Minute

// CheckUserInfo applies the rules a decrypted payload must pass for session s:
// the watermark names s's app; when maxAge > 0, it is at most maxAge old (and not
// from the future beyond clock skew); and a payload that names a user names s's.
func CheckUserInfo(s Session, info UserInfo, now time.Time, maxAge time.Duration) error {
	if err := checkWatermark(s, info.Watermark, now, maxAge); err != nil {
		return err
	}
	if info.OpenID != "" && info.OpenID != s.OpenID {
		return Wrap(KindWatermark, constError("payload of another user"))
	}
	return nil
}

// checkWatermark is the watermark rule of every encrypted payload (user info,
// phone numbers): it names s's app and, when maxAge > 0, it is at most maxAge
// old and not from the future beyond clock skew.
func checkWatermark(s Session, wm Watermark, now time.Time, maxAge time.Duration) error {
	switch {
	case wm.AppID == "":
		return Wrap(KindWatermark, constError("no watermark"))
	case wm.AppID != s.AppID:
		return Wrap(KindWatermark, constError("watermark of another app"))
	}
	if maxAge > 0 {
		at := time.Unix(wm.Timestamp, 0)
		if wm.Timestamp <= 0 || now.Sub(at) > maxAge || at.Sub(now) > maxClockSkew {
			return Wrap(KindWatermark, constError("watermark too old"))
		}
	}
	return nil
}

// VerifySignature checks a payload sent with rawData and signature: WeChat's
// signature of rawData (the hex SHA-1 of rawData followed by the session
// key's base64 text, compared in constant time), and that the decrypted
// payload info says what rawData says. AES-CBC has no integrity, so a user
// can splice their ciphertext (keep its later blocks, choose the iv) and
// send it with the original rawData and signature: the profile fields of
// both must be equal, else KindSignature.
func VerifySignature(info UserInfo, rawData, signature string, key SessionKey) error {
	var buf [1024]byte // rawData is a few hundred bytes: no allocation
	msg := key.AppendBase64(append(buf[:0], rawData...))
	sum := sha1.Sum(msg)
	var want, got [2 * sha1.Size]byte
	hex.Encode(want[:], sum[:])
	if len(signature) != len(got) {
		return ErrSignature
	}
	for i := range got { // WeChat sends lower-case hex; accept upper case too
		c := signature[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		got[i] = c
	}
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return ErrSignature
	}
	raw, err := ParseUserInfo([]byte(rawData))
	if err != nil || raw.Profile != info.Profile {
		return Wrap(KindSignature, constError("the payload differs from rawData"))
	}
	return nil
}
