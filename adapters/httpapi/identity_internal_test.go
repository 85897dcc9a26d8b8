package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"wxbackend/domain"
)

func TestSetIdentity_ReplacesEveryClientSpelling(t *testing.T) {
	h := http.Header{}
	// As a client might send them: other cases, underscores, a unionid the
	// session does not have, and a header of the family the contract does
	// not list yet.
	for _, name := range []string{"x-wx-openid", "X_WX_OPENID", "X-Wx-UnionId", "x_wx_unionid", "X-WX-APPID",
		"X-WX-SOURCE", "x-original-forwarded-for", "X_Original_Forwarded_For", "X-WX-ENV"} {
		h[name] = []string{"forged"}
	}
	h.Set("X-Other", "kept")
	setIdentity(h, domain.Session{AppID: "wxapp", OpenID: "o-1"}, SourceGateway, "203.0.113.7")

	want := map[string]string{
		"X-Wx-Openid":              "o-1",
		"X-Wx-Appid":               "wxapp",
		"X-Wx-Source":              SourceGateway,
		"X-Original-Forwarded-For": "203.0.113.7",
		"X-Other":                  "kept",
	}
	if len(h) != len(want) {
		t.Errorf("headers = %v, want exactly %v", h, want)
	}
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestSetIdentity_UnionIDOnlyWhenTheSessionHasOne(t *testing.T) {
	h := http.Header{}
	setIdentity(h, domain.Session{AppID: "wxapp", OpenID: "o-1", UnionID: "u-1"}, SourceForwardAuth, "")
	if got := h.Get(HeaderUnionID); got != "u-1" {
		t.Errorf("unionid = %q, want u-1", got)
	}
	if _, ok := h[http.CanonicalHeaderKey(HeaderClientFor)]; ok {
		t.Errorf("an unknown client address is not sent, got %q", h.Get(HeaderClientFor))
	}
}

// TestIsIdentityHeader_AsLowerCasingACopyWould holds the in-place
// comparison to the plain reading of the rule: lower-case the name, read
// "_" as "-", then compare.
func TestIsIdentityHeader_AsLowerCasingACopyWould(t *testing.T) {
	plain := func(name string) bool {
		n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		return strings.HasPrefix(n, "x-wx-") || n == "x-original-forwarded-for"
	}
	for _, name := range []string{"X-WX-OPENID", "x_wx_openid", "X-Wx-", "X-Wx", "X_WX_", "x-wx-env", "X-WXOPENID", "X-WY-OPENID",
		"X-Original-Forwarded-For", "x_original_forwarded_for", "X-Original-Forwarded-For2", "X-Original-Forwarded-Fo",
		"X-Forwarded-For", "Authorization", "", "x", "Y-WX-OPENID", "X-Original_Forwarded-FOR", "[-wx-a", "X-WX-é"} {
		if got, want := isIdentityHeader(name), plain(name); got != want {
			t.Errorf("isIdentityHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
