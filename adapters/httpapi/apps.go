package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"wxbackend/domain"
)

// AppIDHeader names the app a request is for, for tools and tests; it
// overrides the Referer.
const AppIDHeader = "X-WX-AppID"

var (
	appIDShape   = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
	versionShape = regexp.MustCompile(`^[A-Za-z0-9.]{1,32}$`)
)

// appOf returns the app a request is for: the X-WX-AppID header, or the
// appid in the Referer wx.request sets on a phone
// (https://servicewechat.com/{appid}/{version}/page-frame.html, which the page
// cannot change), or "" (the one app served). A Referer of another site, or
// over http, is not a mini-program's and is ignored; a servicewechat.com
// Referer of another shape, or an appid of characters no appid has, is
// invalid input.
func appOf(r *http.Request) (string, error) {
	if v := r.Header.Values(AppIDHeader); len(v) > 0 {
		if len(v) > 1 || !appIDShape.MatchString(v[0]) {
			return "", domain.Malformed("appid", "the "+AppIDHeader+" header is not an appid")
		}
		return v[0], nil
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return "", nil
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, "servicewechat.com") {
		return "", nil
	}
	parts := strings.Split(u.Path, "/")
	if u.RawPath != "" || u.User != nil || len(parts) != 4 || parts[0] != "" || parts[3] != "page-frame.html" ||
		!appIDShape.MatchString(parts[1]) || !versionShape.MatchString(parts[2]) {
		return "", domain.Malformed("appid", "the Referer is not a mini-program page (https://servicewechat.com/{appid}/{version}/page-frame.html)")
	}
	return parts[1], nil
}
