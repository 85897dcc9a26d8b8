package domain

import (
	"fmt"
	"net/url"
	"strings"
)

// The rules of calling WeChat's server API for the other services of a
// deployment, with the app's shared access token (issue 25): which paths
// may be called, and what they may look like.

// OpenAPIPath is an API path of WeChat's server API a service may call
// through wxbackend, with the limit wxbackend keeps for it.
type OpenAPIPath struct {
	// Path is the API's path without its leading slash, e.g.
	// "wxa/getwxacodeunlimit".
	Path string
	// PerMinute is how many calls per minute and app are sent on; 0: the
	// configured default. WeChat's own minute limits where it documents
	// them, so a caller over it is answered 429 before WeChat's 45009.
	PerMinute int
}

// DefaultOpenAPIPaths are the mini-program server APIs a backend uses,
// allowed for every app whose apps-file entry names no openapi_paths:
// subscribe and customer-service messages, mini-program codes and links,
// the content checks, phone numbers and unionids. Limits are WeChat's
// documented minute limits (getwxacodeunlimit 5,000/min, msg_sec_check
// 4,000/min, media_check_async 2,000/min), or the default.
var DefaultOpenAPIPaths = []OpenAPIPath{
	{Path: "cgi-bin/message/subscribe/send"},
	{Path: "cgi-bin/message/custom/send"},
	{Path: "cgi-bin/message/custom/typing"},
	{Path: "wxa/getwxacodeunlimit", PerMinute: 5000},
	{Path: "wxa/getwxacode"},
	{Path: "cgi-bin/wxaapp/createwxaqrcode"},
	{Path: "wxa/generate_urllink"},
	{Path: "wxa/query_urllink"},
	{Path: "wxa/generatescheme"},
	{Path: "wxa/queryscheme"},
	{Path: "wxa/generatenfcscheme"},
	{Path: "wxa/genwxashortlink"},
	{Path: "wxa/msg_sec_check", PerMinute: 4000},
	{Path: "wxa/media_check_async", PerMinute: 2000},
	{Path: "wxa/business/getuserphonenumber"},
	{Path: "wxa/getpaidunionid"},
	{Path: "wxa/getuserriskrank"},
	{Path: "cgi-bin/openapi/quota/get"},
	{Path: "cgi-bin/openapi/rid/get"},
}

// credentialAPIs answer a credential or a secret, or spend what guards
// them: never called through wxbackend, even when an allow-list names
// them. cgi-bin/token and stable_token mint access tokens (token also
// invalidates the one every server shares); sns/jscode2session and
// wxa/resetusersessionkey answer a user's session_key; the component
// and OAuth token calls mint tokens of their own; clear_quota and
// clear_quota/v2 spend the app's ten monthly quota resets (v2 takes the
// app secret); getticket answers a JS-SDK ticket.
var credentialAPIs = map[string]bool{
	"cgi-bin/token":                          true,
	"cgi-bin/stable_token":                   true,
	"sns/jscode2session":                     true,
	"sns/oauth2/access_token":                true,
	"sns/oauth2/refresh_token":               true,
	"wxa/resetusersessionkey":                true,
	"cgi-bin/component/api_component_token":  true,
	"cgi-bin/component/api_authorizer_token": true,
	"cgi-bin/clear_quota":                    true,
	"cgi-bin/clear_quota/v2":                 true,
	"cgi-bin/ticket/getticket":               true,
}

// credentialPrefixes are whole families refused like credentialAPIs: a
// third-party platform's APIs (component/) mint authorizer tokens
// (api_query_auth, fastregisterweapp) or answer a session_key
// (sns/component/jscode2session), and OAuth's answer user tokens; none of
// them takes an app's access token, so refusing them costs no one.
var credentialPrefixes = []string{"cgi-bin/component/", "sns/component/", "sns/oauth2/"}

// IsCredentialAPI reports whether path (without its leading slash) is an
// API that answers a credential or a secret, which no allow-list admits.
func IsCredentialAPI(path string) bool {
	path = strings.ToLower(path)
	if credentialAPIs[path] {
		return true
	}
	for _, p := range credentialPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// MaxOpenAPIPath bounds an API path's length; WeChat's are under 60.
const MaxOpenAPIPath = 128

// ParseOpenAPIPath checks the path of a request for WeChat's server API,
// as the client sent it (escaped), and returns it without its leading
// slash. A path is segments of letters, digits, '_' and '-' between single
// slashes: an escape ('%'), a dot segment, an empty segment or any other
// character is invalid input. Nothing is cleaned: what is sent on is what
// was checked.
func ParseOpenAPIPath(escaped string) (string, error) {
	p, ok := strings.CutPrefix(escaped, "/")
	if !ok || p == "" || len(p) > MaxOpenAPIPath {
		return "", Malformed("path", "not a WeChat API path")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" {
			return "", Malformed("path", "empty segment")
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return "", Malformed("path", fmt.Sprintf("character %q is not in a WeChat API path (nothing is unescaped or cleaned)", c))
			}
		}
	}
	return p, nil
}

// CheckOpenAPIPaths checks an allow-list (an apps file's openapi_paths):
// every path well formed, none twice, none a credential API.
func CheckOpenAPIPaths(paths []string) error {
	seen := map[string]bool{}
	for _, p := range paths {
		clean, err := ParseOpenAPIPath("/" + p)
		if err != nil {
			return fmt.Errorf("%q: %s", p, ClientMessageOf(err))
		}
		if IsCredentialAPI(clean) {
			return fmt.Errorf("%q answers a credential: it is never allowed", p)
		}
		if seen[clean] {
			return fmt.Errorf("%q is listed twice", p)
		}
		seen[clean] = true
	}
	return nil
}

// WithoutAccessToken returns a raw query without its access_token
// parameters (of any spelling of the name's escapes), the others as they
// were sent: a caller's token is never passed on, nor can it displace
// the app's.
func WithoutAccessToken(rawQuery string) string {
	if !strings.Contains(strings.ToLower(rawQuery), "access") && !strings.Contains(rawQuery, "%") {
		return rawQuery
	}
	kept := make([]string, 0, 4)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if !namesAccessToken(part) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

// namesAccessToken reports whether a query parameter is an access_token,
// or holds one after a ';' (which some servers take for a separator).
func namesAccessToken(part string) bool {
	for sub := range strings.SplitSeq(part, ";") {
		name, _, _ := strings.Cut(sub, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if strings.EqualFold(strings.TrimSpace(name), "access_token") {
			return true
		}
	}
	return false
}
