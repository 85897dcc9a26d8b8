package domain_test

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"wxbackend/domain"
)

// A path is checked as sent: anything that a server might unescape or
// clean into another path is refused, not cleaned.
func TestParseOpenAPIPath_RejectsWhatCouldBeCleanedIntoAnotherPath(t *testing.T) {
	for _, p := range []string{"/wxa/getwxacodeunlimit", "/cgi-bin/message/subscribe/send", "/wxa/business/getuserphonenumber"} {
		got, err := domain.ParseOpenAPIPath(p)
		if err != nil || "/"+got != p {
			t.Errorf("%q: %q, %v", p, got, err)
		}
	}
	for _, p := range []string{"", "/", "wxa/x", "/wxa/../cgi-bin/token", "/wxa/%2e%2e/cgi-bin/token", "/wxa%2fx",
		"/wxa//x", "/wxa/x/", "/./wxa/x", "/wxa/x.png", "/wxa/x?y", "/wxa/x y", "/wxa/\x00", "/wxa/é",
		"/" + string(make([]byte, 200))} {
		if got, err := domain.ParseOpenAPIPath(p); err == nil || domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("%q: %q, %v; want invalid input", p, got, err)
		}
	}
}

func TestWithoutAccessToken_DropsEverySpellingAndKeepsTheRestAsSent(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"a=1&b=%2F":                          "a=1&b=%2F",
		"access_token=x":                     "",
		"a=1&access_token=x&b=2":             "a=1&b=2",
		"ACCESS_TOKEN=x&a=1":                 "a=1",
		"access%5Ftoken=x&a=1":               "a=1",
		"access_token&a=1":                   "a=1",
		"a=1;access_token=x&b=2":             "b=2",
		"access_token=x&access_token=y":      "",
		"not_access_token=1&access_tokens=2": "not_access_token=1&access_tokens=2",
		"scene=access_token%3Dx&page=p%26q":  "scene=access_token%3Dx&page=p%26q",
	} {
		if got := domain.WithoutAccessToken(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestCheckOpenAPIPaths_RefusesCredentialAPIsAndRepeats(t *testing.T) {
	if err := domain.CheckOpenAPIPaths([]string{"wxa/getwxacodeunlimit", "wxa/msg_sec_check"}); err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]string{{"cgi-bin/token"}, {"cgi-bin/stable_token"}, {"sns/jscode2session"}, {"CGI-BIN/Token"},
		// a third-party platform's: session_key, authorizer tokens
		{"sns/component/jscode2session"}, {"cgi-bin/component/api_query_auth"}, {"cgi-bin/component/fastregisterweapp"},
		{"SNS/Component/JSCode2Session"}, {"sns/oauth2/component/access_token"},
		{"wxa/x", "wxa/x"}, {"/wxa/x"}, {"wxa/../x"}} {
		if err := domain.CheckOpenAPIPaths(list); err == nil {
			t.Errorf("%q: accepted", list)
		}
	}
	for _, p := range domain.DefaultOpenAPIPaths {
		if domain.IsCredentialAPI(p.Path) {
			t.Errorf("the default list names %s", p.Path)
		}
	}
}

// Whatever a caller sends, an accepted path is its own unescaped and
// cleaned form (nothing a server could read as another path), and a query
// keeps no parameter any parser could read as access_token.
func FuzzOpenAPIRequest(f *testing.F) {
	f.Add("/wxa/getwxacodeunlimit", "a=1&access_token=x")
	f.Add("/wxa/%2e%2e/cgi-bin/token", "access%5Ftoken=x;access_token=y")
	f.Add("/wxa//x", "ACCESS_TOKEN=1&b=%zz")
	f.Fuzz(func(t *testing.T, p, q string) {
		if got, err := domain.ParseOpenAPIPath(p); err == nil {
			u, uerr := url.PathUnescape(got)
			if uerr != nil || u != got || path.Clean("/"+got) != "/"+got || "/"+got != p {
				t.Fatalf("%q accepted as %q", p, got)
			}
		}
		out := domain.WithoutAccessToken(q)
		for part := range strings.SplitSeq(strings.ReplaceAll(out, ";", "&"), "&") {
			name, _, _ := strings.Cut(part, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if strings.EqualFold(strings.TrimSpace(name), "access_token") {
				t.Fatalf("%q kept %q", q, out)
			}
		}
	})
}
