package domain_test

import (
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
