package domain_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"wxbackend/domain"
)

func TestCleanText_StripsControlsBidiAndInvalidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"Band 🎸":                         "Band 🎸",
		"  spaced  ":                     "spaced",
		"\u202Eevil\u202C":               "evil",
		"a\u2066b\u2067c\u2068d\u2069":   "abcd",
		"l\u200Er\u200Fa\u061C":          "lra",
		"c1\u0085\u009Bx":                "c1x",
		"\x1b[2J\x1b[31mred":             "[2J[31mred",
		"nul\x00\x01\x7f":                "nul",
		"bad\xff\xfeutf8":                "badutf8",
		"tab\tnew\nline":                 "tab new line",
		"\u200B\u200C\u200D\u2060\uFEFF": "",
		" \u3000\u00A0\u3164\u2800 ":     "",
		"👩‍👩‍👧":                          "👩‍👩‍👧", // ZWJ kept
	} {
		if got := domain.CleanText(in, 100); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := domain.CleanText(strings.Repeat("字", 70), 64); utf8.RuneCountInString(got) != 64 {
		t.Errorf("cut to %d runes, want 64", utf8.RuneCountInString(got))
	}
	if got := domain.CleanText(strings.Repeat("\u200B", 64)+"visible", 64); got != "" {
		t.Errorf("a cut that leaves nothing visible gave %q", got)
	}
}

// Item 5: a nickname with nothing visible is no nickname: code 1 on the
// edit route, dropped (the stored one kept) from a payload.
func TestNickName_NothingVisibleIsEmpty(t *testing.T) {
	for _, in := range []string{"\u200B", " \u200B \u200D ", "\uFEFF\u2060", "\u3164\u3164", "\u202E\u200E", "\u00A0\u2003"} {
		if _, err := domain.CleanNickName(in); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("CleanNickName(%q): %v, want invalid input", in, err)
		}
		if _, err := domain.NewProfileEdit(domain.ProfileInput{NickName: &in}); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("NewProfileEdit(%q): %v, want invalid input", in, err)
		}
		u := domain.User{Profile: domain.Profile{NickName: "Kept"}}
		if u.ApplyWeChat(domain.Profile{NickName: in}) || u.Profile.NickName != "Kept" {
			t.Errorf("payload nickname %q replaced the stored one: %q", in, u.Profile.NickName)
		}
	}
}

// Items 4 and 5: a payload's text is cleaned as an edit's is, whatever it
// holds, and its avatar URL is kept only on WeChat's image hosts.
func TestApplyWeChat_CleansEveryField(t *testing.T) {
	var u domain.User
	u.ApplyWeChat(domain.Profile{
		NickName:  "\u202E" + strings.Repeat("n", 99),
		AvatarURL: "javascript:alert(1)",
		Language:  "zh_CN\u0085",
		City:      "\x1b[2J<script>alert(1)</script>",
		Province:  "广东\u2066",
		Country:   "C\u009bN",
		Gender:    9,
	})
	want := domain.Profile{NickName: strings.Repeat("n", domain.MaxNickNameRunes), Language: "zh_CN",
		City: "[2Jscriptalert(1)/script", Province: "广东", Country: "CN"}
	if u.Profile != want {
		t.Fatalf("stored %+v\nwant   %+v", u.Profile, want)
	}
}

func TestWeChatAvatarURL_OnlyWeChatsImageHosts(t *testing.T) {
	for in, want := range map[string]string{
		"https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132":    "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
		"http://wx.qlogo.cn/mmopen/vi_32/abc/0":            "https://wx.qlogo.cn/mmopen/vi_32/abc/0", // WeChat's older http
		"https://thirdqq.qlogo.cn/qqapp/1/abc/100?x=1&y=2": "https://thirdqq.qlogo.cn/qqapp/1/abc/100?x=1&y=2",
		"HTTPS://THIRDWX.QLOGO.CN/a":                       "https://thirdwx.qlogo.cn/a",
		"javascript:alert(1)":                              "",
		"JavaScript://thirdwx.qlogo.cn/%0aalert(1)":        "",
		"data:image/png;base64,AAAA":                       "",
		"https://evil.example/a.png":                       "",
		"https://thirdwx.qlogo.cn.evil.example/a":          "",
		"https://evil.example/?thirdwx.qlogo.cn":           "",
		"https://user@thirdwx.qlogo.cn/a":                  "",
		"https://thirdwx.qlogo.cn:8443/a":                  "",
		"//thirdwx.qlogo.cn/a":                             "",
		"https://thirdwx.qlogo.cn/a\"onerror=\"x":          "https://thirdwx.qlogo.cn/a%22onerror=%22x", // quoted, inert
		"": "",
	} {
		if got := domain.WeChatAvatarURL(in); got != want {
			t.Errorf("WeChatAvatarURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Item 4: rawData and signature sent with a payload vouch for the payload
// only if it says what rawData says.
func TestVerifySignature_PayloadMustMatchRawData(t *testing.T) {
	key, err := domain.ParseSessionKey("HyVFkGl5F5OQWJZZaNzBBg==")
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	const sig = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
	info, err := domain.ParseUserInfo([]byte(`{"openId":"o1",` + raw[1:len(raw)-1] + `,"watermark":{"appid":"wx1","timestamp":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := domain.VerifySignature(info, raw, sig, key); err != nil {
		t.Fatalf("the genuine payload: %v", err)
	}
	for name, change := range map[string]func(*domain.Profile){
		"nickname": func(p *domain.Profile) { p.NickName = "\u202EBand" },
		"city":     func(p *domain.Profile) { p.City = "\x1b[2J" },
		"avatar":   func(p *domain.Profile) { p.AvatarURL = "javascript:alert(1)" },
		"gender":   func(p *domain.Profile) { p.Gender = 2 },
	} {
		spliced := info
		change(&spliced.Profile)
		if err := domain.VerifySignature(spliced, raw, sig, key); domain.KindOf(err) != domain.KindSignature {
			t.Errorf("a payload with another %s passed: %v", name, err)
		}
	}
	if err := domain.VerifySignature(info, "not json", "bd2a2f4ba8d0e3a2c0a1a0d88d9f1c7a0e1d2f3b", key); domain.KindOf(err) != domain.KindSignature {
		t.Errorf("bad rawData: %v", err)
	}
}

// Item 6: a decrypted phone payload without a number was altered by its
// sender: undecryptable (code 4), not WeChat's fault.
func TestParsePhoneInfo_WithoutANumberIsUndecryptable(t *testing.T) {
	for _, plain := range []string{`{}`, `{"phoneNumber":"+86 138","watermark":{"appid":"wx1"}}`, `{"purePhoneNumber":"","watermark":{"appid":"wx1"}}`} {
		if _, err := domain.ParsePhoneInfo([]byte(plain)); domain.KindOf(err) != domain.KindUndecryptable {
			t.Errorf("%s: %v, want undecryptable", plain, err)
		}
	}
	s := domain.Session{AppID: "wx1"}
	now := time.Unix(1_800_000_000, 0)
	bad := domain.PhoneInfo{Phone: domain.Phone{PureNumber: "13x"}, Watermark: domain.Watermark{AppID: "wx1", Timestamp: now.Unix()}, Decrypted: true}
	if _, err := domain.CheckPhone(s, bad, now, 0); domain.KindOf(err) != domain.KindUndecryptable {
		t.Errorf("a payload's number of letters: %v, want undecryptable", err)
	}
	bad.Decrypted = false
	if _, err := domain.CheckPhone(s, bad, now, 0); domain.KindOf(err) != domain.KindUpstream {
		t.Errorf("WeChat's answer of letters: %v, want upstream", err)
	}
}

// Item 7: an encrypted phone payload's watermark is held to the same age as
// user info's.
func TestCheckPhone_PayloadWatermarkAge(t *testing.T) {
	s := domain.Session{AppID: "wx1"}
	now := time.Unix(1_800_000_000, 0)
	info, err := domain.ParsePhoneInfo([]byte(`{"purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"wx1","timestamp":1799999995}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := domain.CheckPhone(s, info, now, 3*time.Second); domain.KindOf(err) != domain.KindWatermark {
		t.Errorf("a five-second-old payload with a 3 s limit: %v, want watermark", err)
	}
	if err := domain.CheckUserInfo(s, domain.UserInfo{Watermark: info.Watermark}, now, 3*time.Second); domain.KindOf(err) != domain.KindWatermark {
		t.Errorf("user info of the same age: %v", err)
	}
	if p, err := domain.CheckPhone(s, info, now, 10*time.Second); err != nil || p.PureNumber != "13800138000" {
		t.Errorf("a fresh payload: %v %v", p, err)
	}
	if _, err := domain.CheckPhone(s, info, now.Add(-time.Hour), 10*time.Second); domain.KindOf(err) != domain.KindWatermark {
		t.Errorf("a payload from the future: %v", err)
	}
	// WeChat's own answer (by code) is as fresh as the call.
	info.Decrypted = false
	if _, err := domain.CheckPhone(s, info, now, 3*time.Second); err != nil {
		t.Errorf("WeChat's answer: %v", err)
	}
}
