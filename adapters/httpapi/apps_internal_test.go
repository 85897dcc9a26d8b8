package httpapi

import (
	"net/http/httptest"
	"testing"

	"wxbackend/domain"
)

func TestAppOf_HeaderAndReferer(t *testing.T) {
	for _, c := range []struct {
		name, header, referer, want string
		kind                        domain.Kind // of the error; KindInternal: no error
	}{
		{"nothing", "", "", "", domain.KindInternal},
		{"header", "wxshop0000000000", "", "wxshop0000000000", domain.KindInternal},
		{"header over referer", "wxa", "https://servicewechat.com/wxb/3/page-frame.html", "wxa", domain.KindInternal},
		{"a phone's referer", "", "https://servicewechat.com/wx4f4bc4dec97d474b/12/page-frame.html", "wx4f4bc4dec97d474b", domain.KindInternal},
		{"devtools version", "", "https://servicewechat.com/wxabc/devtools/page-frame.html", "wxabc", domain.KindInternal},
		{"another site", "", "https://evil.example/wxabc/1/page-frame.html", "", domain.KindInternal},
		{"a lookalike host", "", "https://servicewechat.com.evil.example/wxabc/1/page-frame.html", "", domain.KindInternal},
		{"plain http", "", "http://servicewechat.com/wxabc/1/page-frame.html", "", domain.KindInternal},
		{"path traversal", "", "https://servicewechat.com/wxabc/../wxother/1/page-frame.html", "", domain.KindInvalidInput},
		{"encoded slash", "", "https://servicewechat.com/wxabc%2F..%2Fwxother/1/page-frame.html", "", domain.KindInvalidInput},
		{"another page", "", "https://servicewechat.com/wxabc/1/index.html", "", domain.KindInvalidInput},
		{"odd characters", "", "https://servicewechat.com/wx'abc;--/1/page-frame.html", "", domain.KindInvalidInput},
		{"too long", "", "https://servicewechat.com/wx0123456789012345678901234567890123/1/page-frame.html", "", domain.KindInvalidInput},
		{"user info", "", "https://wxabc@servicewechat.com/wxabc/1/page-frame.html", "", domain.KindInvalidInput},
		{"odd header", "wx abc", "", "", domain.KindInvalidInput},
		{"empty header", "", "", "", domain.KindInternal},
	} {
		r := httptest.NewRequest("POST", "/api/v1/login", nil)
		if c.header != "" {
			r.Header.Set(AppIDHeader, c.header)
		}
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		got, err := appOf(r)
		if err != nil && domain.KindOf(err) != c.kind || err == nil && c.kind != domain.KindInternal || got != c.want {
			t.Errorf("%s: %q, %v; want %q (error kind %v)", c.name, got, err, c.want, c.kind)
		}
	}
}
