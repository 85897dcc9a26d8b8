package domain

import (
	"reflect"
	"testing"
)

// FuzzParseUserInfo holds the fast path to encoding/json: whatever it
// accepts, encoding/json accepts and reads the same way.
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
		fast, ok := parseUserInfoFast(b)
		slow, err := parseUserInfoJSON(b)
		if !ok {
			return // encoding/json decides: nothing to compare
		}
		if err != nil {
			t.Fatalf("the fast path accepted what encoding/json rejects (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\njson %+v", b, fast, slow)
		}
		// And ParseUserInfo is the one or the other.
		if got, err := ParseUserInfo(b); err != nil || !reflect.DeepEqual(got, slow) {
			t.Fatalf("ParseUserInfo %+v, %v", got, err)
		}
	})
}

// TestParseUserInfo_FastPathTakesWeChatsShape makes sure the common payload
// does not fall back to encoding/json unnoticed.
func TestParseUserInfo_FastPathTakesWeChatsShape(t *testing.T) {
	b := []byte(`{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band 🎸","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"https://thirdwx.qlogo.cn/a/132","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`)
	if _, ok := parseUserInfoFast(b); !ok {
		t.Fatal("WeChat's payload took the slow path")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = parseUserInfoFast(b) }); n > 1 {
		t.Fatalf("%v allocations, want 1", n)
	}
}
