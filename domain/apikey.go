package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is what an API key of the internal listener may do: one route
// group each. A key carries any number of them.
type Scope string

// The scopes. A new route group of the internal listener adds its scope
// here, and to Scopes.
const (
	// ScopeIntrospect allows token introspection (RFC 7662).
	ScopeIntrospect Scope = "introspect"
	// ScopeOpenAPI allows calls of WeChat's server API through wxbackend,
	// with the app's shared access token.
	ScopeOpenAPI Scope = "openapi"
	// ScopeMessages allows sending subscribe messages.
	ScopeMessages Scope = "messages"
)

// Scopes are every scope, in the order documentation lists them.
var Scopes = []Scope{ScopeIntrospect, ScopeOpenAPI, ScopeMessages}

// ParseScope returns the scope named s, or an error listing the scopes.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(Scopes, Scope(s)) {
		return Scope(s), nil
	}
	names := make([]string, len(Scopes))
	for i, sc := range Scopes {
		names[i] = string(sc)
	}
	return "", fmt.Errorf("%q is no scope (%s)", s, strings.Join(names, ", "))
}

// APIKey is an API key of the internal listener as the core sees it: who
// holds it (a name, for logs and metrics; several keys may share one while
// a key is rotated), what it may do, and for which apps. The key itself is
// never part of it: only the adapter that checks keys sees one.
type APIKey struct {
	Name   string
	Scopes []Scope
	// Apps are the appids the key may act for; empty: every app.
	Apps []string
}

// Allows reports whether k may act in scope for appID. An appID of ""
// asks about the scope alone (a route that names no app yet).
func (k APIKey) Allows(scope Scope, appID string) bool {
	if !slices.Contains(k.Scopes, scope) {
		return false
	}
	return appID == "" || k.AllowsApp(appID)
}

// AllowsApp reports whether k may act for appID.
func (k APIKey) AllowsApp(appID string) bool {
	return len(k.Apps) == 0 || slices.Contains(k.Apps, appID)
}
