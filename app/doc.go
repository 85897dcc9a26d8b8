// Package app holds the use cases of wxbackend, written against the ports
// only: one file per use case, each a small struct holding the ports it needs
// and one method, Handle.
//
// Requests are authenticated once, at the edge: the HTTP adapter calls
// Authenticate with the raw token, and every other use case that acts for a
// user takes the domain.Session it returned, never a token. Rate limits are
// the adapter's too.
//
// To add a use case:
//
//  1. add a file (say export.go) with a doc comment on top saying what the use
//     case does, a struct of the ports it needs (unexported fields) and its
//     Handle method;
//  2. add a field of that type to App and build it in New (app.go);
//  3. add a route in adapters/httpapi that calls it, behind the
//     authentication middleware when it acts for a user.
//
// Use cases for the other services of a deployment (introspect.go,
// openapi.go: WeChat's server API with the app's token; message sending to
// come) are called from the internal listener, behind an API key: they take the domain.APIKey the
// adapter looked up (never the key) and check its apps (APIKey.AllowsApp);
// the scope is checked by the route (adapters/httpapi/internal.go says how
// to add a route group).
//
// Helpers more than one use case needs (the app lookup, how a user is
// presented, how a user is updated) are in shared.go; the WeChat server API
// calls and their access token in wechatapi.go and tokens.go.
package app
