package httpapi

import (
	"net/http"
	"strings"

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
// as "-" (some proxies and CGI-style servers treat the two alike).
func isIdentityHeader(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	return strings.HasPrefix(n, "x-wx-") || n == "x-original-forwarded-for"
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
	h.Set(HeaderOpenID, s.OpenID)
	h.Set(HeaderAppID, s.AppID)
	if s.UnionID != "" {
		h.Set(HeaderUnionID, s.UnionID)
	}
	h.Set(HeaderSource, source)
	if client != "" {
		h.Set(HeaderClientFor, client)
	}
}
