package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

var openAPIKey = domain.APIKey{Name: "jobs", Scopes: []domain.Scope{domain.ScopeOpenAPI}}

// withOpenAPI gives the world allow-lists and limiters kept in memory.
func withOpenAPI(paths map[string][]string) worldOption {
	return func(d *app.Deps) {
		d.OpenAPIPaths = paths
		d.OpenAPILimiter = func(n int) ports.RateLimiter { return memory.NewRateLimiter(n, time.Minute, d.Clock) }
	}
}

func call(path string) app.OpenAPICall {
	return app.OpenAPICall{Method: http.MethodPost, EscapedPath: path, Body: []byte(`{}`)}
}

func TestOpenAPI_PassesAnAllowedCallOnWithTheAppsToken(t *testing.T) {
	w := newWorld(t, app.Options{}, withOpenAPI(nil))
	resp, err := w.svc.a.OpenAPI.Handle(context.Background(), openAPIKey, call("/wxa/generate_urllink"))
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"errcode":0,"errmsg":"ok","path":"wxa/generate_urllink"}` {
		t.Fatalf("%+v, %v", resp, err)
	}
}

// A token WeChat rejects is replaced and the call sent once more.
func TestOpenAPI_ARejectedTokenIsReplacedAndTheCallSentAgain(t *testing.T) {
	w := newWorld(t, app.Options{}, withOpenAPI(nil))
	ctx := context.Background()
	if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink")); err != nil {
		t.Fatal(err)
	}
	w.wechat.InvalidateToken()
	issued, calls := w.wechat.TokensIssued(), w.wechat.Forwards()
	if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink")); err != nil {
		t.Fatal(err)
	}
	if w.wechat.TokensIssued() != issued+1 || w.wechat.Forwards() != calls+2 {
		t.Fatalf("tokens %d→%d, calls %d→%d", issued, w.wechat.TokensIssued(), calls, w.wechat.Forwards())
	}
	w.wechat.RejectEveryToken(true)
	if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink")); domain.KindOf(err) != domain.KindUpstream {
		t.Fatalf("rejected twice: %v, want code 8", err)
	}
}

func TestOpenAPI_RefusesWhatTheKeyOrTheListDoesNotAllow(t *testing.T) {
	w := newWorld(t, app.Options{}, withOpenAPI(map[string][]string{appID: {"wxa/getwxacodeunlimit"}}))
	ctx := context.Background()
	otherApp := openAPIKey
	otherApp.Apps = []string{"wxother"}
	introspectOnly := domain.APIKey{Name: "i", Scopes: []domain.Scope{domain.ScopeIntrospect}}
	get := call("/wxa/getwxacodeunlimit")
	get.Method = http.MethodPut
	named := call("/wxa/getwxacodeunlimit")
	named.AppID = "wxunknown"
	for name, c := range map[string]struct {
		key  domain.APIKey
		call app.OpenAPICall
		kind domain.Kind
	}{
		"no scope":               {introspectOnly, call("/wxa/getwxacodeunlimit"), domain.KindForbidden},
		"another app":            {otherApp, call("/wxa/getwxacodeunlimit"), domain.KindForbidden},
		"an app not served":      {openAPIKey, named, domain.KindInvalidInput},
		"outside the app's list": {openAPIKey, call("/wxa/generate_urllink"), domain.KindForbidden},
		"a credential API":       {openAPIKey, call("/cgi-bin/stable_token"), domain.KindForbidden},
		"dot-dot":                {openAPIKey, call("/wxa/../cgi-bin/token"), domain.KindInvalidInput},
		"PUT":                    {openAPIKey, get, domain.KindInvalidInput},
	} {
		if _, err := w.svc.a.OpenAPI.Handle(ctx, c.key, c.call); domain.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	if n := w.wechat.Forwards(); n != 0 {
		t.Fatalf("WeChat was called %d times", n)
	}
}

// An allow-list naming a credential API is refused when the app is built.
func TestOpenAPI_AnAllowListWithACredentialAPIIsRefused(t *testing.T) {
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	_, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, clock),
		Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{portfake.NewWeChat(appID)},
		Clock: clock, Tokens: &portfake.Tokens{}, OpenAPIPaths: map[string][]string{appID: {"wxa/msg_sec_check", "sns/jscode2session"}}},
		app.Options{SessionTTL: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "sns/jscode2session") {
		t.Fatalf("%v", err)
	}
}

// Each path has its limit per minute: WeChat's where documented, else
// the default; the minute after, calls go through again.
func TestOpenAPI_LimitsPerAppAndPath(t *testing.T) {
	w := newWorld(t, app.Options{OpenAPIPerMinute: 2}, withOpenAPI(nil))
	ctx := context.Background()
	for range 2 {
		if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink"))
	if domain.KindOf(err) != domain.KindRateLimited || domain.RetryAfterOf(err) <= 0 {
		t.Fatalf("over the limit: %v", err)
	}
	for i := range 10 { // 5,000 a minute, WeChat's own
		if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/getwxacodeunlimit")); err != nil {
			t.Fatalf("getwxacodeunlimit %d: %v", i, err)
		}
	}
	w.clock.Advance(time.Minute)
	if _, err := w.svc.a.OpenAPI.Handle(ctx, openAPIKey, call("/wxa/generate_urllink")); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}
