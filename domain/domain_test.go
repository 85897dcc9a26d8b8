package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"wxbackend/domain"
)

func TestError_IsMatchesByKind(t *testing.T) {
	err := fmt.Errorf("save: %w", domain.Wrap(domain.KindUnavailable, errors.New("connection refused")))
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatal("a wrapped unavailable error is not ErrUnavailable")
	}
	if errors.Is(err, domain.ErrInternal) {
		t.Fatal("an unavailable error is ErrInternal")
	}
	if got := domain.KindOf(err); got != domain.KindUnavailable {
		t.Fatalf("kind %v", got)
	}
	if got := domain.KindOf(errors.New("plain")); got != domain.KindInternal {
		t.Fatalf("a plain error is of kind %v, want internal", got)
	}
}

func TestMissing_UsesTheTutorialsMessage(t *testing.T) {
	var e *domain.Error
	if !errors.As(domain.Missing("iv"), &e) || e.Msg != "缺少参数!" || e.Kind != domain.KindInvalidInput {
		t.Fatalf("got %#v", e)
	}
}

func TestWithDetail_KeepsTheErrorAndAddsTheDetail(t *testing.T) {
	orig := domain.Missing("appid")
	err := fmt.Errorf("login: %w", domain.WithDetail(orig, "name the app"))
	if got := domain.DetailOf(err); got != "name the app" {
		t.Fatalf("detail %q", got)
	}
	if domain.KindOf(err) != domain.KindInvalidInput || domain.ClientMessageOf(err) != domain.MsgMissing {
		t.Fatalf("kind %v, msg %q: the error changed", domain.KindOf(err), domain.ClientMessageOf(err))
	}
	if domain.DetailOf(orig) != "" {
		t.Fatal("WithDetail changed the error it was given")
	}
	// An internal error shows no detail, nor does a plain one take one.
	if got := domain.DetailOf(domain.WithDetail(domain.Wrap(domain.KindInternal, errors.New("db")), "secret cause")); got != "" {
		t.Fatalf("internal error's detail %q", got)
	}
	if plain := errors.New("plain"); domain.WithDetail(plain, "x") != plain || domain.DetailOf(plain) != "" {
		t.Fatal("a plain error is changed")
	}
}

func TestToken_ShapeIsChecked(t *testing.T) {
	var b [domain.TokenBytes]byte
	b[0] = 0xfb // makes '-' or '_' likely in the text
	secret := domain.NewToken(b)
	if len(secret.Reveal()) != 43 {
		t.Fatalf("token text %q is not 43 characters", secret.Reveal())
	}
	tok := secret.WithTag(domain.UserTag(domain.Identity{AppID: "wxa", OpenID: "o1"}))
	parsed, err := domain.ParseToken(tok.Reveal())
	if err != nil || parsed.Digest() != tok.Digest() {
		t.Fatalf("a token does not parse back: %v", err)
	}
	// A secret without its user's tag is no token: logins always tag.
	for _, bad := range []string{"", "short", secret.Reveal(), tok.Reveal() + "x", strings.Repeat("=", 43), strings.Repeat("a", 42) + "/", strings.Repeat("é", 21) + "a"} {
		if _, err := domain.ParseToken(bad); domain.KindOf(err) != domain.KindUnauthenticated {
			t.Errorf("ParseToken(%q) = %v, want unauthenticated", bad, err)
		}
	}
}

func TestToken_AndSessionKeyNeverPrint(t *testing.T) {
	var b [domain.TokenBytes]byte
	copy(b[:], "secret-token-bytes")
	tok := domain.NewToken(b)
	key, err := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	if err != nil {
		t.Fatal(err)
	}
	s := domain.Session{AppID: "wx1", OpenID: "o1", SessionKey: key}
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("x", "token", tok, "session", s, "key", key)
	js, _ := json.Marshal(struct {
		T domain.Token
		S domain.Session
	}{tok, s})
	for _, out := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", s, s, s, key), logged.String(), string(js)} {
		if strings.Contains(out, tok.Reveal()) || strings.Contains(out, key.Base64()) {
			t.Fatalf("a secret was printed: %s", out)
		}
	}
}

func TestParseSessionKey_RejectsWhatIsNot16Bytes(t *testing.T) {
	for _, bad := range []string{"", "abc", "dGlpaHROY3pmNXY2QUtSeWp3RUVoUQ==" /* 22 bytes */, "tiihtNczf5v6AKRyjwEUhQ=!",
		"tiihtNczf5v6AKRyjwEUhR==" /* not canonical: Base64 could not give it back */, "tiihtNczf5v6AKRyjwEUhQAA" /* 18 bytes */} {
		if _, err := domain.ParseSessionKey(bad); domain.KindOf(err) != domain.KindUpstream {
			t.Errorf("ParseSessionKey(%q) = %v, want an upstream error", bad, err)
		}
	}
}

func TestParseSessionKey_GivesTheTextBack(t *testing.T) {
	for _, text := range []string{"tiihtNczf5v6AKRyjwEUhQ==", "AAAAAAAAAAAAAAAAAAAAAA==", "/////////////////////w=="} {
		k, err := domain.ParseSessionKey(text)
		if err != nil || k.Base64() != text || k.IsZero() || len(k.Bytes()) != domain.SessionKeyBytes {
			t.Errorf("%q: %v, gives back %q", text, err, k.Base64())
		}
	}
	if !(domain.SessionKey{}).IsZero() {
		t.Error("the zero key is not zero")
	}
}

func TestProfileSanitized(t *testing.T) {
	long := strings.Repeat("👩‍💻", 60) // 3 runes each
	p := domain.Profile{NickName: long, City: "Guang\x00zhou", Country: "C\xffN", Gender: 7, Language: "zh_CN"}.Sanitized()
	if n := utf8.RuneCountInString(p.NickName); n != domain.MaxNickNameLen || !utf8.ValidString(p.NickName) {
		t.Fatalf("nickname cut to %d runes (valid %v)", n, utf8.ValidString(p.NickName))
	}
	if p.City != "Guangzhou" || p.Country != "C\uFFFDN" || p.Gender != 0 || p.Language != "zh_CN" {
		t.Fatalf("sanitized to %+v", p)
	}
	same := domain.Profile{NickName: "Band 🎸", Gender: 2}
	if same.Sanitized() != same {
		t.Fatal("a clean profile changed")
	}
}

func TestParseUserInfo(t *testing.T) {
	plain := `{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou",` +
		`"province":"Guangdong","country":"CN","avatarUrl":"http://a/b","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA",` +
		`"watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`
	info, err := domain.ParseUserInfo([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.UserInfo{OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE", UnionID: "ocMvos6NjeKLIBqg5Mr9QjxrP1FA",
		Profile:   domain.Profile{NickName: "Band", AvatarURL: "http://a/b", Gender: 1, Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN"},
		Watermark: domain.Watermark{AppID: "wx4f4bc4dec97d474b", Timestamp: 1477314187}}
	if info != want {
		t.Fatalf("got %+v", info)
	}
	for _, bad := range []string{"", "not json", "[1,2]", `{"nickName":5}`, `{"watermark":"x"}`, "\x00\x01"} {
		if _, err := domain.ParseUserInfo([]byte(bad)); domain.KindOf(err) != domain.KindUndecryptable {
			t.Errorf("ParseUserInfo(%q) = %v, want undecryptable", bad, err)
		}
	}
	if info, err := domain.ParseUserInfo([]byte(`{"gender":"2"}`)); err != nil || info.Profile.Gender != 2 {
		t.Errorf("a numeric-string gender: %+v, %v", info, err)
	}
}

func TestCheckUserInfo(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := domain.Session{AppID: "wxA", OpenID: "o1"}
	wm := func(app string, ts int64) domain.UserInfo {
		return domain.UserInfo{OpenID: "o1", Watermark: domain.Watermark{AppID: app, Timestamp: ts}}
	}
	cases := []struct {
		name   string
		info   domain.UserInfo
		maxAge time.Duration
		ok     bool
	}{
		{"matching app, age not checked", wm("wxA", 1), 0, true},
		{"no watermark", domain.UserInfo{OpenID: "o1"}, 0, false},
		{"another app", wm("wxB", now.Unix()), 0, false},
		{"another user", domain.UserInfo{OpenID: "o2", Watermark: domain.Watermark{AppID: "wxA"}}, 0, false},
		{"no openid in payload", domain.UserInfo{Watermark: domain.Watermark{AppID: "wxA"}}, 0, true},
		{"fresh", wm("wxA", now.Unix()-60), time.Hour, true},
		{"too old", wm("wxA", now.Unix()-3601), time.Hour, false},
		{"no timestamp when age is checked", wm("wxA", 0), time.Hour, false},
		{"from the future beyond skew", wm("wxA", now.Unix()+600), time.Hour, false},
		{"from the future within skew", wm("wxA", now.Unix()+60), time.Hour, true},
	}
	for _, c := range cases {
		err := domain.CheckUserInfo(s, c.info, now, c.maxAge)
		if c.ok && err != nil || !c.ok && domain.KindOf(err) != domain.KindWatermark {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestVerifySignature_OfficialExample(t *testing.T) {
	// WeChat's documented example of signature = sha1(rawData + session_key).
	key, err := domain.ParseSessionKey("HyVFkGl5F5OQWJZZaNzBBg==")
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	const sig = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
	info, err := domain.ParseUserInfo([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := domain.VerifySignature(info, raw, sig, key); err != nil {
		t.Fatalf("official example: %v", err)
	}
	if err := domain.VerifySignature(info, raw, strings.ToUpper(sig), key); err != nil {
		t.Fatalf("upper-case hex: %v", err)
	}
	for _, bad := range []string{"", "fake_sign", sig[:39], sig + "0", strings.Replace(sig, "7", "8", 1)} {
		if err := domain.VerifySignature(info, raw, bad, key); domain.KindOf(err) != domain.KindSignature {
			t.Errorf("signature %q: %v", bad, err)
		}
	}
	if err := domain.VerifySignature(info, raw+" ", sig, key); domain.KindOf(err) != domain.KindSignature {
		t.Error("a changed rawData passed")
	}
}

func TestKinds_EveryKindHasANameAndAMessage(t *testing.T) {
	seen := map[string]bool{}
	for k := domain.KindInternal; k <= domain.KindForbidden; k++ {
		if k.String() == "unknown" || seen[k.String()] || k.Message() == "" {
			t.Errorf("kind %d: name %q, message %q", k, k, k.Message())
		}
		seen[k.String()] = true
		if got := domain.ClientMessageOf(domain.Wrap(k, errors.New("cause"))); got != k.Message() {
			t.Errorf("kind %v: wrapped error shows %q", k, got)
		}
	}
	if (domain.KindForbidden + 1).String() != "unknown" {
		t.Error("a kind past the table has a name")
	}
}

func TestCleanNickName(t *testing.T) {
	for in, want := range map[string]string{
		"  Ada  ":                "Ada",
		"👩‍👩‍👧‍👦 family":         "👩‍👩‍👧‍👦 family", // ZWJ sequence intact
		"🏳️‍🌈":                   "🏳️‍🌈",           // variation selector + ZWJ
		"evil\u202Egnp.exe":      "evilgnp.exe",    // right-to-left override
		"a\u2066b\u2069c\u200Fd": "abcd",           // isolates and marks
		"tab\tnew\nline\x00\x7f": "tab new line",
		"微信用户":                   "微信用户", // a name the user typed is theirs, even this one
		strings.Repeat("字", 64):  strings.Repeat("字", 64),
		"\xff bad":               "bad", // invalid UTF-8 dropped
	} {
		got, err := domain.CleanNickName(in)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "\u202E\u200E", "\t\n", strings.Repeat("字", 65)} {
		if _, err := domain.CleanNickName(in); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("%q: %v, want invalid input", in, err)
		}
	}
}

func TestBlobNames(t *testing.T) {
	name := domain.NewBlobName([domain.BlobNameBytes]byte{0xab, 0x01}, ".jpg")
	if !domain.ValidBlobName(name) || name != "ab01"+strings.Repeat("0", 60)+".jpg" {
		t.Fatalf("%q", name)
	}
	// A name made by content before (a SHA-256) is still one.
	if legacy := "4510f4c704d231fe55562e0807ee1ee58c024c98bc676d1b210f35fbfb55ee55.jpg"; !domain.ValidBlobName(legacy) {
		t.Fatalf("%q refused", legacy)
	}
	for _, bad := range []string{"", "../etc/passwd", name[:63] + ".jpg", strings.ToUpper(name[:64]) + ".jpg",
		name[:64] + ".JPG", name[:64], name[:64] + ".jpg/x", name[:64] + ".j", name[:64] + ".jpeg5"} {
		if domain.ValidBlobName(bad) {
			t.Errorf("%q passed", bad)
		}
	}
}

func TestIsDefaultAvatar(t *testing.T) {
	for url, want := range map[string]bool{
		"https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132": true,
		"https://wx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/0":        true,
		"https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLhKbkZ7q6jicpBd0cGbMGB3bL2jGbcKtG0/132":                                                 false,
		"": false,
	} {
		if domain.IsDefaultAvatar(url) != want {
			t.Errorf("%q: want %v", url, want)
		}
	}
}
