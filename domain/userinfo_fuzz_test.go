package domain

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseUserInfo: whatever comes out of the cipher, ParseUserInfo either
// fails as undecryptable (one kind, whatever was wrong) or returns a UserInfo
// that reads back the same when written in WeChat's shape.
func FuzzParseUserInfo(f *testing.F) {
	for _, seed := range []string{
		`{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`,
		`{"nickName":"Band 🎸👩‍👩‍👧 微信","gender":"2","watermark":{"appid":"wx1","timestamp":-0}}`,
		` { "nickname" : "case" , "watermark" : { "APPID" : "wx" } } `,
		`{"nickName":"a\u0000b","extra":{"nested":[1,2]},"watermark":null}`,
		`{"nickName":"x","nickName":"y","watermark":{"appid":"a"},"watermark":{"timestamp":5}}`,
		`{"gender":01,"x":1.5e3,"y":true,"z":null,"w":false}`,
		`{"nic\u212Aname":"kelvin","city":"\xff"}`,
		`{"timestamp":9223372036854775808}`, `null`, `[]`, `{}`, `{"a":1,}`, `{"a" 1}`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if plain, ok := parseUserInfoPlain(b); ok {
			want, err := parseUserInfoJSON(b)
			if err != nil || plain != want {
				t.Fatalf("%q: the plain reader took %+v, encoding/json %+v, %v", b, plain, want, err)
			}
		}
		info, err := ParseUserInfo(b)
		if err != nil {
			if KindOf(err) != KindUndecryptable {
				t.Fatalf("%q: kind %v, want undecryptable", b, KindOf(err))
			}
			return
		}
		p := info.Profile
		again, err := json.Marshal(map[string]any{"openId": info.OpenID, "unionId": info.UnionID,
			"nickName": p.NickName, "avatarUrl": p.AvatarURL, "gender": p.Gender, "language": p.Language,
			"city": p.City, "province": p.Province, "country": p.Country, "watermark": info.Watermark})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseUserInfo(again)
		if err != nil || !reflect.DeepEqual(back, info) {
			t.Fatalf("%q:\nparsed %+v\nread back %+v, %v", b, info, back, err)
		}
	})
}

// TestParseUserInfoPlainAgrees: the plain reader takes WeChat's payloads as
// encoding/json reads them, and leaves every other shape to it.
func TestParseUserInfoPlainAgrees(t *testing.T) {
	for _, c := range []struct {
		payload string
		plain   bool // the plain reader takes it
	}{
		{`{"openId":"oG","nickName":"Band 🎸 微信","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/0","unionId":"ocM","watermark":{"timestamp":1477314187,"appid":"wx4f"}}`, true},
		{` { "nickName" : "x" , "gender" : 7, "extra": {"a":[1,"}"]}, "watermark" : { "appid" : "wx", "other": 1 } } `, true},
		{`{}`, true},
		{`{"nickname":"case folds to a known name"}`, false},
		{`{"watermark":{"APPID":"wx"}}`, false},
		{`{"nickName":"x","nickName":"y"}`, false},
		{`{"nickName":"esc\u00e9"}`, false},
		{`{"nic\u006bName":"escaped name"}`, false},
		{"{\"city\":\"\xff\"}", false},
		{`{"gender":"2"}`, false},
		{`{"gender":12}`, false},
		{`{"watermark":null}`, false},
		{`{"watermark":{"timestamp":1.5}}`, false},
		{`{"nickName":5}`, false},
		{`null`, false}, {`[]`, false}, {`{"a":1,}`, false}, {``, false},
	} {
		got, ok := parseUserInfoPlain([]byte(c.payload))
		if ok != c.plain {
			t.Errorf("%q: plain reader took it: %v, want %v", c.payload, ok, c.plain)
			continue
		}
		want, err := parseUserInfoJSON([]byte(c.payload))
		if ok && (err != nil || got != want) {
			t.Errorf("%q: plain %+v, encoding/json %+v, %v", c.payload, got, want, err)
		}
	}
}
