package domain

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
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
