package httpapi

import (
	"net/http"

	"wxbackend/domain"
)

// The identity headers are the conventions of WeChat's own hosting (Cloud
// Run): what a service behind wxbackend reads to learn who calls it. They
// are set only from a session, never taken from a client: stripIdentity
// removes every client-sent header of these names, in any case and with
// underscores for dashes, before a request goes anywhere.
const (
	HeaderOpenID    = "X-WX-OPENID"
	HeaderAppID     = "X-WX-APPID"
	HeaderUnionID   = "X-WX-UNIONID"
	HeaderSource    = "X-WX-SOURCE"
	HeaderClientFor = "X-Original-Forwarded-For"
)

// Sources name where an identity came from, in X-WX-SOURCE.
const (
	SourceGateway     = "wxbackend-gateway"
	SourceForwardAuth = "wxbackend-forward-auth"
)

// isIdentityHeader reports whether a header name is one a client must never
// set: any X-WX-… header (the contract's, and any a later convention adds)
// and X-Original-Forwarded-For, compared case-insensitively with "_" read
// as "-" (some proxies and CGI-style servers treat the two alike). It runs
// for every header of every gateway request, so it compares in place
// rather than lower-casing a copy; header names are ASCII tokens (the
// server refuses others), where the two agree.
func isIdentityHeader(name string) bool {
	const prefix, clientFor = "x-wx-", "x-original-forwarded-for"
	return (len(name) >= len(prefix) && foldDashEqual(name[:len(prefix)], prefix)) ||
		(len(name) == len(clientFor) && foldDashEqual(name, clientFor))
}

// foldDashEqual reports whether s, ASCII letters lower-cased and "_" read as
// "-", equals lower, of the same length.
func foldDashEqual(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// stripIdentity removes every identity header from h.
func stripIdentity(h http.Header) {
	for name := range h {
		if isIdentityHeader(name) {
			delete(h, name)
		}
	}
}

// setIdentity strips h's identity headers and sets them from s: the openid,
// the app, the unionid only when the session has one, the source, and the
// client address as this server resolved it (HTTP header names are
// case-insensitive: Go writes them as X-Wx-Openid).
func setIdentity(h http.Header, s domain.Session, source, client string) {
	stripIdentity(h)
	// The names as Go writes them and the values in one array: Header.Set
	// would canonicalize each name anew and allocate a slice per value.
	vals := make([]string, 0, 5)
	set := func(name, v string) {
		vals = append(vals, v)
		n := len(vals)
		h[name] = vals[n-1 : n : n]
	}
	set(canonicalOpenID, s.OpenID)
	set(canonicalAppID, s.AppID)
	if s.UnionID != "" {
		set(canonicalUnionID, s.UnionID)
	}
	set(canonicalSource, source)
	if client != "" {
		set(canonicalClientFor, client)
	}
}

// The identity headers' names as http.Header keys them.
var (
	canonicalOpenID    = http.CanonicalHeaderKey(HeaderOpenID)
	canonicalAppID     = http.CanonicalHeaderKey(HeaderAppID)
	canonicalUnionID   = http.CanonicalHeaderKey(HeaderUnionID)
	canonicalSource    = http.CanonicalHeaderKey(HeaderSource)
	canonicalClientFor = http.CanonicalHeaderKey(HeaderClientFor)
)
