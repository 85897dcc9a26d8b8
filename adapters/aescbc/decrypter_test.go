package aescbc_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/domain"
)

// WeChat's official sample (WXBizDataCrypt demo).
const (
	sampleKey  = "tiihtNczf5v6AKRyjwEUhQ=="
	sampleIV   = "r7BXXKkLb8qrSNn05n0qiA=="
	sampleData = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
)

func key(t testing.TB, b64 string) domain.SessionKey {
	t.Helper()
	k, err := domain.ParseSessionKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDecrypt_OfficialSample(t *testing.T) {
	plain, err := aescbc.NewDecrypter().Decrypt(key(t, sampleKey), sampleData, sampleIV)
	if err != nil {
		t.Fatal(err)
	}
	info, err := domain.ParseUserInfo(plain)
	if err != nil {
		t.Fatal(err)
	}
	if info.Profile.NickName != "Band" || info.OpenID != "oGZUI0egBJY1zhBYw2KhdUfwVJJE" || info.Watermark.AppID != "wx4f4bc4dec97d474b" {
		t.Fatalf("decrypted %+v", info)
	}
	s := domain.Session{AppID: "wx4f4bc4dec97d474b", OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE"}
	if err := domain.CheckUserInfo(s, info, time.Now(), 0); err != nil {
		t.Fatalf("the sample's watermark: %v", err)
	}
}

func TestDecrypt_RoundTripsUnicode(t *testing.T) {
	k := key(t, "AAECAwQFBgcICQoLDA0ODw==")
	for _, nick := range []string{"Band 🎸", "👩‍👩‍👧‍👦🧑🏽‍💻🏳️‍🌈", "微信用户 广州", "مرحبا", "", strings.Repeat("😀", 300)} {
		payload, _ := json.Marshal(map[string]any{"nickName": nick, "watermark": map[string]any{"appid": "wxA", "timestamp": 1}})
		for n := 0; n < 3; n++ { // three lengths: a full padding block and partial ones
			p := append(payload, []byte(strings.Repeat(" ", n))...)
			var iv [16]byte
			iv[0] = byte(n)
			data, err := aescbc.Encrypt(k, iv, p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := aescbc.NewDecrypter().Decrypt(k, data, base64.StdEncoding.EncodeToString(iv[:]))
			if err != nil {
				t.Fatalf("%q: %v", nick, err)
			}
			if string(got) != string(p) {
				t.Fatalf("round trip changed %q to %q", p, got)
			}
		}
	}
}

func TestDecrypt_FormatErrorsAreInvalidInput(t *testing.T) {
	k := key(t, sampleKey)
	for name, c := range map[string][2]string{
		"iv not base64":          {sampleData, "r7BXXKkLb8qrSNn05n0q!A=="},
		"iv of 12 bytes":         {sampleData, "r7BXXKkLb8qrSNn0"},
		"iv of 17 bytes":         {sampleData, base64.StdEncoding.EncodeToString(make([]byte, 17))},
		"data not base64":        {"***", sampleIV},
		"data of 15 bytes":       {base64.StdEncoding.EncodeToString(make([]byte, 15)), sampleIV},
		"data of 17 bytes":       {base64.StdEncoding.EncodeToString(make([]byte, 17)), sampleIV},
		"data empty after space": {" ", sampleIV},
	} {
		if _, err := aescbc.NewDecrypter().Decrypt(k, c[0], c[1]); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("%s: %v, want invalid input", name, err)
		}
	}
}

func TestDecrypt_SpacesAreReadAsPlus(t *testing.T) {
	// A form body sent without URL-encoding turns '+' into ' '.
	spaced := strings.ReplaceAll(sampleData, "+", " ")
	if _, err := aescbc.NewDecrypter().Decrypt(key(t, sampleKey), spaced, sampleIV); err != nil {
		t.Fatal(err)
	}
	unpadded := strings.TrimRight(sampleData, "=")
	if _, err := aescbc.NewDecrypter().Decrypt(key(t, sampleKey), unpadded, strings.TrimRight(sampleIV, "=")); err != nil {
		t.Fatalf("unpadded base64: %v", err)
	}
}

// TestDecrypt_EveryBadPaddingLooksTheSame builds ciphertexts whose plaintext
// ends in each kind of bad padding and checks one error for all: no oracle.
func TestDecrypt_EveryBadPaddingLooksTheSame(t *testing.T) {
	k := key(t, "AAECAwQFBgcICQoLDA0ODw==")
	block, _ := aes.NewCipher(k.Bytes())
	var iv [16]byte
	seal := func(plain []byte) string {
		out := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(out, plain)
		return base64.StdEncoding.EncodeToString(out)
	}
	full := func(last ...byte) []byte {
		b := []byte(strings.Repeat("x", 32))
		copy(b[32-len(last):], last)
		return b
	}
	cases := map[string][]byte{
		"zero pad byte":         full(0),
		"pad 17":                full(17),
		"pad 255":               full(255),
		"pad 2 over 1":          full(1, 2),
		"pad 16 with a wrong":   append([]byte(strings.Repeat("x", 16)), append([]byte{15}, []byte(strings.Repeat("\x10", 15))...)...),
		"pad 4 with a 3 inside": full(4, 3, 4, 4),
	}
	var first error
	for name, plain := range cases {
		_, err := aescbc.NewDecrypter().Decrypt(k, seal(plain), base64.StdEncoding.EncodeToString(iv[:]))
		if domain.KindOf(err) != domain.KindUndecryptable {
			t.Fatalf("%s: %v, want undecryptable", name, err)
		}
		if first == nil {
			first = err
		}
		var a, b *domain.Error
		errors.As(err, &a)
		errors.As(first, &b)
		if a.Msg != b.Msg || err.Error() != first.Error() {
			t.Fatalf("%s: %q differs from %q", name, err, first)
		}
	}
	// A valid full padding block is accepted.
	plain := append([]byte(strings.Repeat("x", 16)), []byte(strings.Repeat("\x10", 16))...)
	got, err := aescbc.NewDecrypter().Decrypt(k, seal(plain), base64.StdEncoding.EncodeToString(iv[:]))
	if err != nil || string(got) != strings.Repeat("x", 16) {
		t.Fatalf("full padding block: %q, %v", got, err)
	}
}

func TestDecrypt_WrongKeyNeverPanicsOrPasses(t *testing.T) {
	wrong := key(t, "AAECAwQFBgcICQoLDA0ODw==")
	// A wrong key yields valid padding about 1 time in 256; then the garbage
	// must fail to parse. Either way the data is not accepted.
	plain, err := aescbc.NewDecrypter().Decrypt(wrong, sampleData, sampleIV)
	if err == nil {
		_, err = domain.ParseUserInfo(plain)
	}
	if domain.KindOf(err) != domain.KindUndecryptable {
		t.Fatalf("the sample under a wrong key: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		data := make([]byte, 16*(1+r.IntN(4)))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		plain, err := aescbc.NewDecrypter().Decrypt(wrong, base64.StdEncoding.EncodeToString(data), sampleIV)
		if err == nil {
			if _, err := domain.ParseUserInfo(plain); err == nil {
				t.Fatal("random bytes parsed as a payload")
			}
		} else if domain.KindOf(err) != domain.KindUndecryptable {
			t.Fatalf("random ciphertext: %v", err)
		}
	}
}

// Plaintexts are decrypted into reused buffers: what a decryption returns
// must not change when the next payload (another user's) is decrypted, in
// WeChat's form (the one-pass parser) or any other (encoding/json), nor
// when the next one fails.
func TestDecrypt_ResultsOutliveTheirBuffer(t *testing.T) {
	k := key(t, "AAECAwQFBgcICQoLDA0ODw==")
	seal := func(payload string) string {
		t.Helper()
		data, err := aescbc.Encrypt(k, [16]byte{}, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	iv := base64.StdEncoding.EncodeToString(make([]byte, 16))
	d := aescbc.NewDecrypter()
	for _, form := range []string{
		`{"nickName":"%s","city":"%s","watermark":{"appid":"wxA","timestamp":1}}`,         // WeChat's form
		`{"nickName": "%s", "city": "%s", "watermark": {"appid": "wxA", "timestamp": 1}}`, // spaced: encoding/json
	} {
		first, err := d.DecryptUserInfo(k, seal(strings.Replace(strings.Replace(form, "%s", "Ann", 1), "%s", "Paris", 1)), iv)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			other := strings.Replace(strings.Replace(form, "%s", strings.Repeat("Z", i%7+3), 1), "%s", "Lyon", 1)
			if _, err := d.DecryptUserInfo(k, seal(other), iv); err != nil {
				t.Fatal(err)
			}
			_, _ = d.DecryptUserInfo(k, seal("not json at all"), iv)
			phone, err := d.DecryptPhone(k, seal(`{"phoneNumber":"+86 139","purePhoneNumber":"139","countryCode":"86"}`), iv)
			if err != nil || phone.Phone.PureNumber != "139" {
				t.Fatalf("phone %+v, %v", phone, err)
			}
		}
		if first.Profile.NickName != "Ann" || first.Profile.City != "Paris" {
			t.Fatalf("%s: the first payload now reads %q, %q", form, first.Profile.NickName, first.Profile.City)
		}
	}
}
