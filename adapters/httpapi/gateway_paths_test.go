package httpapi_test

import (
	"testing"

	"wxbackend/adapters/httpapi"
)

// A path with "." or ".." segments, in any spelling an upstream might
// resolve (percent-encoded, "\" for "/", a ";" parameter after the dots as
// Tomcat reads it), would reach the upstream outside the prefix, or above
// the base path of its URL: "/app/../admin" as "/base/../admin" is
// "/admin" to nginx in front of the service. It is refused, even with a
// valid token, and nothing is forwarded; an ordinary path still is.
func TestGateway_DotSegmentsCannotLeaveThePrefix(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{},
		httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL + "/base", StripPrefix: true},
		httpapi.Upstream{Name: "kept", Prefix: "/kept/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")
	auth := []string{"Authorization", "Bearer " + tok}
	for _, path := range []string{
		"/app/../admin", "/app/./admin", "/app/a/../../admin", "/app/..", "/app/a/..",
		"/app/%2e%2e/admin", "/app/%2E%2e/admin", "/app/.%2e/admin", "/app/a%2f..%2f..%2fadmin",
		"/app/..%5cadmin", "/app/..%5c..%5cadmin", "/app/..;/admin", "/app/..;x=1/admin",
		"/kept/../admin", "/kept/%2e%2e/admin",
	} {
		res, body := g.send(t, "GET", path, nil, auth...)
		if res.StatusCode != 400 {
			t.Errorf("%s: HTTP %d %s, want code 1 HTTP 400", path, res.StatusCode, body)
			continue
		}
		wantRefusal(t, res, body, 1, 400)
	}
	select {
	case r := <-got:
		t.Fatalf("the upstream got %s", r.Path)
	default:
	}
	// Dots inside a segment are a name, not a step up.
	for path, want := range map[string]string{"/app/a..b/.well-known/x": "/base/a..b/.well-known/x", "/kept/v1.2/...": "/kept/v1.2/..."} {
		if res, body := g.send(t, "GET", path, nil, auth...); res.StatusCode != 200 {
			t.Fatalf("%s: HTTP %d %s", path, res.StatusCode, body)
		}
		if r := waitOne(t, got); r.Path != want {
			t.Fatalf("%s reached the upstream as %s, want %s", path, r.Path, want)
		}
	}
}
