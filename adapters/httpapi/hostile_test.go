package httpapi_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxbackend/domain"
)

// sealRaw encrypts whole blocks under key without any padding, to forge
// every kind of bad padding.
func sealRaw(t *testing.T, key string, blocks []byte) string {
	t.Helper()
	k, _ := domain.ParseSessionKey(key)
	b, _ := aes.NewCipher(k.Bytes())
	out := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(out, blocks)
	return base64.StdEncoding.EncodeToString(out)
}

// padded is a 32-byte plaintext whose last block ends in tail.
func padded(tail ...byte) []byte {
	b := []byte(strings.Repeat(`{"a":1}         `, 2))
	copy(b[len(b)-len(tail):], tail)
	return b
}

// TestHostileInput sends every route what an attacker or a broken client
// would, and checks the exact contract code, that nothing was written (no
// user row, no session), and that no answer carries data.
func TestHostileInput(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	revoked := f.login(t, "c2")
	other := f.login(t, "c3")
	want(t, f.do(t, "POST", "/api/v1/logout", nil, "Authorization", "Bearer "+revoked), 0, 200)
	f.wechat.AddCode("c3", "o1", "", key1) // a re-login, so o1's key is still key1
	good := sealed(t, goodPayload)
	iv := ivText
	data := func(encrypted, ivText string) map[string]any {
		return map[string]any{"iv": ivText, "encrypedData": encrypted, "token": tok}
	}
	withPayload := func(plain string) map[string]any { return data(sealed(t, plain), iv) }
	const otherKey = "AAECAwQFBgcICQoLDA0ODw=="
	badPadding := map[string][]byte{
		"zero pad byte":       padded(0),
		"pad 17":              padded(17),
		"pad 255":             padded(255),
		"pad 2 over a 1":      padded(1, 2),
		"pad 16 with a wrong": padded(15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16),
		"pad 4 with a 3":      padded(4, 3, 4, 4),
	}

	type hostile struct {
		name   string
		method string
		path   string
		body   any
		header []string
		code   int
		status int
	}
	cases := []hostile{
		// base64, lengths and block structure: format errors, code 1
		{"data not base64", "POST", "/getinfo/", data("@@@@####", iv), nil, 1, 400},
		{"iv not base64", "POST", "/getinfo/", data(good, "!!"), nil, 1, 400},
		{"iv of 8 bytes", "POST", "/getinfo/", data(good, "AAAAAAAAAAA="), nil, 1, 400},
		{"iv of 32 bytes", "POST", "/getinfo/", data(good, iv+iv), nil, 1, 400},
		{"data of 15 bytes", "POST", "/getinfo/", data(base64.StdEncoding.EncodeToString(make([]byte, 15)), iv), nil, 1, 400},
		{"data of 17 bytes", "POST", "/getinfo/", data(base64.StdEncoding.EncodeToString(make([]byte, 17)), iv), nil, 1, 400},
		// after decryption: code 4, one message
		{"sealed under another key", "POST", "/getinfo/", data(sealRaw(t, otherKey, padded(16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16)), iv), nil, 4, 400},
		{"decrypts to text", "POST", "/getinfo/", withPayload("hello, not JSON"), nil, 4, 400},
		{"decrypts to an array", "POST", "/getinfo/", withPayload(`[1,2]`), nil, 4, 400},
		{"decrypts to a truncated object", "POST", "/getinfo/", withPayload(`{"nickName":"x"`), nil, 4, 400},
		// checks of the payload
		{"no watermark", "POST", "/getinfo/", withPayload(`{"nickName":"x"}`), nil, 5, 400},
		{"null watermark", "POST", "/getinfo/", withPayload(`{"nickName":"x","watermark":null}`), nil, 5, 400},
		{"watermark of another app", "POST", "/getinfo/", withPayload(`{"watermark":{"appid":"wxEvil","timestamp":1}}`), nil, 5, 400},
		{"payload of another user", "POST", "/getinfo/", withPayload(`{"openId":"oSomeoneElse","watermark":{"appid":"` + appID + `","timestamp":1}}`), nil, 5, 400},
		{"signature forged", "POST", "/api/v1/userinfo", map[string]any{"iv": iv, "encryptedData": good, "rawData": `{"nickName":"x"}`, "signature": strings.Repeat("0", 40)}, []string{"Authorization", "Bearer " + tok}, 6, 400},
		// missing fields and wrong types
		{"no iv", "POST", "/getinfo/", map[string]any{"encrypedData": good, "token": tok}, nil, 1, 400},
		{"empty data", "POST", "/getinfo/", data("", iv), nil, 1, 400},
		{"no token", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good}, nil, 2, 401},
		{"no code", "POST", "/login/", map[string]any{}, nil, 1, 400},
		{"null code", "POST", "/login/", map[string]any{"code": nil}, nil, 1, 400},
		{"iv a number", "POST", "/getinfo/", map[string]any{"iv": 123, "encrypedData": good, "token": tok}, nil, 1, 400},
		{"token an object", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good, "token": map[string]any{"a": 1}}, nil, 1, 400},
		{"data an array", "POST", "/api/v1/userinfo", map[string]any{"iv": iv, "encryptedData": []string{good}}, []string{"Authorization", "Bearer " + tok}, 1, 400},
		{"code true", "POST", "/login/", map[string]any{"code": true}, nil, 1, 400},
		// duplicated fields: which one a proxy reads is anyone's guess
		{"JSON iv twice", "POST", "/getinfo/", `{"iv":"` + iv + `","iv":"` + iv + `","encrypedData":"` + good + `","token":"` + tok + `"}`, []string{"Content-Type", "application/json"}, 1, 400},
		{"form iv twice", "POST", "/getinfo/", "iv=" + url.QueryEscape(iv) + "&iv=x&encrypedData=" + url.QueryEscape(good) + "&token=" + tok, []string{"Content-Type", "application/x-www-form-urlencoded"}, 1, 400},
		{"form code twice", "POST", "/login/", "code=a&code=b", []string{"Content-Type", "application/x-www-form-urlencoded"}, 1, 400},
		// sizes, nesting, encodings
		{"huge body", "POST", "/getinfo/", data(strings.Repeat("A", 8192), iv), nil, 11, 413},
		{"huge form", "POST", "/login/", "code=" + strings.Repeat("x", 8192), []string{"Content-Type", "application/x-www-form-urlencoded"}, 11, 413},
		{"deep nesting", "POST", "/login/", strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat(`}`, 600), []string{"Content-Type", "application/json"}, 1, 400},
		{"deep arrays", "POST", "/login/", `{"x":` + strings.Repeat(`[`, 2000) + strings.Repeat(`]`, 2000) + `}`, []string{"Content-Type", "application/json"}, 1, 400},
		{"not JSON at all", "POST", "/login/", `{"code":`, []string{"Content-Type", "application/json"}, 1, 400},
		{"invalid UTF-8 code", "POST", "/login/", "{\"code\":\"\xff\xfe\"}", []string{"Content-Type", "application/json"}, 1, 400},
		{"NUL in code", "POST", "/login/", map[string]any{"code": "a\x00b"}, nil, 1, 400},
		{"emoji code", "POST", "/login/", map[string]any{"code": "🎸🎸🎸"}, nil, 1, 400},
		{"over-long code", "POST", "/login/", map[string]any{"code": strings.Repeat("a", 200)}, nil, 1, 400},
		{"SQL in code", "POST", "/login/", map[string]any{"code": "'; DROP TABLE wx_users; --"}, nil, 1, 400}, // spaces: not a code
		{"SQL in code, no spaces", "POST", "/login/", map[string]any{"code": "'OR'1'='1'--"}, nil, 3, 400},    // WeChat says no
		{"form as XML", "POST", "/login/", "<code>x</code>", []string{"Content-Type", "application/xml"}, 11, 415},
		{"broken content type", "POST", "/login/", "code=x", []string{"Content-Type", "text/;;;"}, 11, 415},
		{"multipart", "POST", "/login/", "--b\r\n\r\nx\r\n--b--", []string{"Content-Type", "multipart/form-data; boundary=b"}, 11, 415},
		// tokens
		{"unknown token", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good, "token": strings.Repeat("A", 43)}, nil, 2, 401},
		{"revoked token", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good, "token": revoked}, nil, 2, 401},
		{"token with emoji", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good, "token": "🎸" + tok[4:]}, nil, 2, 401},
		{"token with SQL", "GET", "/api/v1/me", nil, []string{"Authorization", "Bearer ' OR 1=1 --"}, 2, 401},
		{"token over-long", "GET", "/api/v1/me", nil, []string{"Authorization", "Bearer " + strings.Repeat("A", 3000)}, 2, 401},
		{"token with NUL", "POST", "/getinfo/", map[string]any{"iv": iv, "encrypedData": good, "token": tok[:10] + "\x00" + tok[11:]}, nil, 2, 401},
		// The header's token is checked before the body is read: a revoked
		// one is refused as such; a live one that the body contradicts is
		// a malformed request.
		{"revoked header token, good body token", "POST", "/getinfo/", data(good, iv), []string{"Authorization", "Bearer " + revoked}, 2, 401},
		{"tokens disagree", "POST", "/getinfo/", data(good, iv), []string{"Authorization", "Bearer " + other}, 1, 400},
		{"revoked token on logout", "POST", "/api/v1/logout", nil, []string{"Authorization", "Bearer " + revoked}, 2, 401},
	}
	for name, blocks := range badPadding {
		cases = append(cases, hostile{"bad padding: " + name, "POST", "/getinfo/", data(sealRaw(t, key1, blocks), iv), nil, 4, 400})
	}

	writes, sessions := f.users.WriteCount(), f.sessionCount(t)
	undecryptable := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, c.body, c.header...)
			want(t, r, c.code, c.status)
			if string(r.Data) != "null" {
				t.Fatalf("a rejected request carries data: %s", r.Data)
			}
			if f.users.WriteCount() != writes || f.sessionCount(t) != sessions {
				t.Fatalf("a rejected request wrote: %d user writes (was %d), %d sessions (was %d)",
					f.users.WriteCount(), writes, f.sessionCount(t), sessions)
			}
			if c.code == 4 {
				undecryptable[c.name] = r.raw
			}
		})
	}

	// No padding oracle: every failure after decrypting answers the same bytes.
	var first, firstName string
	for name, raw := range undecryptable {
		if first == "" {
			first, firstName = raw, name
		} else if raw != first {
			t.Errorf("%q answers %s but %q answers %s", name, raw, firstName, first)
		}
	}
	if len(undecryptable) < len(badPadding)+4 {
		t.Fatalf("only %d undecryptable cases ran", len(undecryptable))
	}

	// The session survived all of it and still works.
	want(t, f.do(t, "POST", "/getinfo/", data(good, iv)), 0, 200)
}

// TestHostileInput_ExpiredToken checks a token past its TTL.
func TestHostileInput_ExpiredToken(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	writes := f.users.WriteCount()
	f.clock.Advance(2 * time.Hour) // the fixture's TTL is an hour
	r := f.do(t, "POST", "/getinfo/", map[string]any{"iv": ivText, "encrypedData": sealed(t, goodPayload), "token": tok})
	want(t, r, 2, 401)
	if f.users.WriteCount() != writes {
		t.Fatal("an expired token wrote")
	}
}

// TestHostileInput_AcceptedOddities are inputs that are odd but WeChat's own:
// they are saved, cleaned by the documented rules.
func TestHostileInput_AcceptedOddities(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	for _, c := range []struct{ name, nick, stored string }{
		{"4-byte emoji and ZWJ", "🎸👩‍👩‍👧🏳️‍🌈", "🎸👩‍👩‍👧🏳️‍🌈"},
		{"NUL in the payload", "a\\u0000b", "ab"},
		{"SQL in the payload", `'; DROP TABLE wx_users; --`, `'; DROP TABLE wx_users; --`},
		{"over-long nickname", strings.Repeat("长", 150), strings.Repeat("长", domain.MaxNickNameRunes)}, // the edit's bound
		{"escaped lone surrogate", `x\ud800y`, "x\uFFFDy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload := `{"openId":"o1","nickName":"` + strings.ReplaceAll(c.nick, `'`, `'`) + `","watermark":{"appid":"` + appID + `","timestamp":1}}`
			r := f.do(t, "POST", "/getinfo/", map[string]any{"iv": ivText, "encrypedData": sealed(t, payload), "token": tok})
			want(t, r, 0, 200)
			u, err := f.users.Get(t.Context(), domain.Identity{AppID: appID, OpenID: "o1"})
			if err != nil || u.Profile.NickName != c.stored {
				t.Fatalf("stored %q (%v), want %q", u.Profile.NickName, err, c.stored)
			}
		})
	}
}
