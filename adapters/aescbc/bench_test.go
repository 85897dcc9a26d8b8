package aescbc_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// typicalUserInfo is wx.getUserInfo's answer for a profile whose decrypted
// payload is about 500 bytes, as WeChat's are.
func typicalUserInfo(b *testing.B) (domain.SessionKey, sandbox.UserInfo, domain.Session) {
	b.Helper()
	k := key(b, "tiihtNczf5v6AKRyjwEUhQ==")
	p := sandbox.Profile{NickName: "Band 🎸 微信用户", Gender: 1, Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN",
		AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/" + strings.Repeat("Q3auHgzwzM4", 15) + "/132"}
	const openID = "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
	info, err := sandbox.Seal(k, "wx4f4bc4dec97d474b", openID, "ocMvos6NjeKLIBqg5Mr9QjxrP1FA", p, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(info.EncryptedData)
	if n := len(raw); n < 480 || n > 560 {
		b.Fatalf("payload is %d bytes, want about 500", n)
	}
	return k, info, domain.Session{AppID: "wx4f4bc4dec97d474b", OpenID: openID, SessionKey: k}
}

// BenchmarkOpenUserInfo is the whole check of a /getinfo/ payload: decrypt,
// unpad, parse, watermark, signature.
func BenchmarkOpenUserInfo(b *testing.B) {
	k, info, sess := typicalUserInfo(b)
	dec := aescbc.NewDecrypter()
	b.SetBytes(int64(base64.StdEncoding.DecodedLen(len(info.EncryptedData))))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		u, err := dec.DecryptUserInfo(k, info.EncryptedData, info.IV)
		if err != nil {
			b.Fatal(err)
		}
		if err := domain.CheckUserInfo(sess, u, now, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := domain.VerifySignature(u, info.RawData, info.Signature, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawCBCAndJSON is the floor OpenUserInfo is held to: the standard
// library's base64, AES-CBC and encoding/json with no checks at all.
func BenchmarkRawCBCAndJSON(b *testing.B) {
	k, info, _ := typicalUserInfo(b)
	b.SetBytes(int64(base64.StdEncoding.DecodedLen(len(info.EncryptedData))))
	b.ReportAllocs()
	var out struct {
		OpenID, UnionID, NickName, AvatarURL, Language, City, Province, Country string
		Gender                                                                  int
		Watermark                                                               struct {
			AppID     string
			Timestamp int64
		}
	}
	for b.Loop() {
		iv, _ := base64.StdEncoding.DecodeString(info.IV)
		data, _ := base64.StdEncoding.DecodeString(info.EncryptedData)
		block, _ := aes.NewCipher(k.Bytes())
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(data, data)
		data = data[:len(data)-int(data[len(data)-1])]
		if err := json.Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}
