package app

// OpenAPI passes a call of WeChat's server API from another service of the
// deployment on to WeChat with the app's shared access token (the one
// refresher of tokens.go), so that no other service fetches a token of its
// own: two refreshers invalidate each other's tokens. It is the internal
// listener's, behind an API key of scope openapi (the adapter checks the
// scope; the key's apps are checked here).
//
// What it sends on, and what it refuses:
//   - the path must be well formed (domain.ParseOpenAPIPath: nothing
//     unescaped or cleaned), never an API that answers a credential
//     (domain.IsCredentialAPI: cgi-bin/token, stable_token, jscode2session…)
//     and in the app's allow-list (the apps file's openapi_paths, or
//     domain.DefaultOpenAPIPaths); anything else is KindForbidden;
//   - a caller's access_token is dropped from the query: only the app's
//     is sent;
//   - each app and path has a limit per minute (WeChat's where it
//     documents one), so a caller is told 429 before WeChat's 45009;
//   - an answer of 40001, 40014 or 42001 replaces the token (once per
//     cluster) and the call is sent once more.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"wxbackend/domain"
	"wxbackend/ports"
)

// OpenAPI calls WeChat's server API for an API key.
type OpenAPI struct {
	wechat weChatAPI
	// allowed is each app's allow-list: appid → path → its limit per
	// minute (0: none).
	allowed  map[string]map[string]int
	limiters map[int]ports.RateLimiter // by limit per minute
}

// OpenAPICall is a call another service made: the app it names ("" for
// the one app served), and its request as it came, the path escaped as
// sent (with its leading slash) and the query raw.
type OpenAPICall struct {
	AppID               string
	Method              string
	EscapedPath         string
	RawQuery            string
	ContentType, Accept string
	Body                []byte
}

// newOpenAPI builds the use case: the allow-list of each app (paths, or
// the default), each path's limit (the default table's, or perMinute),
// and one limiter per distinct limit from newLimiter (nil: no limits).
func newOpenAPI(wx weChatAPI, paths map[string][]string, perMinute int, newLimiter func(perMinute int) ports.RateLimiter) (*OpenAPI, error) {
	documented := map[string]int{}
	for _, p := range domain.DefaultOpenAPIPaths {
		documented[p.Path] = p.PerMinute
	}
	limitOf := func(path string) int {
		if n := documented[path]; n > 0 {
			return n
		}
		return perMinute
	}
	o := &OpenAPI{wechat: wx, allowed: map[string]map[string]int{}, limiters: map[int]ports.RateLimiter{}}
	for appID := range wx.apps.byID {
		list, own := paths[appID]
		if !own {
			list = make([]string, len(domain.DefaultOpenAPIPaths))
			for i, p := range domain.DefaultOpenAPIPaths {
				list[i] = p.Path
			}
		}
		if err := domain.CheckOpenAPIPaths(list); err != nil {
			return nil, fmt.Errorf("app: openapi paths of %s: %w", appID, err)
		}
		o.allowed[appID] = map[string]int{}
		for _, p := range list {
			n := limitOf(p)
			o.allowed[appID][p] = n
			if _, ok := o.limiters[n]; !ok && n > 0 && newLimiter != nil {
				o.limiters[n] = newLimiter(n)
			}
		}
	}
	return o, nil
}

// Handle sends c on to WeChat with the token of c's app, for key, and
// returns WeChat's answer as it is (whatever its status and errcode).
// A key without the scope or the app, a credential API or a path outside
// the app's allow-list is KindForbidden; a malformed path, or a method but
// GET and POST, KindInvalidInput; a call over the path's limit
// KindRateLimited; WeChat not answering KindUpstream or
// KindUpstreamTimeout.
func (o *OpenAPI) Handle(ctx context.Context, key domain.APIKey, c OpenAPICall) (ports.APIResponse, error) {
	if !key.Allows(domain.ScopeOpenAPI, "") {
		return ports.APIResponse{}, &domain.Error{Kind: domain.KindForbidden, Msg: "the API key has no scope openapi"}
	}
	wc, err := o.wechat.apps.lookup(c.AppID)
	if err != nil {
		return ports.APIResponse{}, err
	}
	appID := wc.AppID()
	if !key.AllowsApp(appID) {
		return ports.APIResponse{}, &domain.Error{Kind: domain.KindForbidden, Msg: "the API key may not act for app " + appID}
	}
	if c.Method != http.MethodGet && c.Method != http.MethodPost {
		return ports.APIResponse{}, domain.Malformed("method", "WeChat's API takes GET and POST")
	}
	path, err := domain.ParseOpenAPIPath(c.EscapedPath)
	if err != nil {
		return ports.APIResponse{}, err
	}
	if domain.IsCredentialAPI(path) {
		return ports.APIResponse{}, &domain.Error{Kind: domain.KindForbidden,
			Msg: path + " answers a credential: it is never called through wxbackend"}
	}
	limit, ok := o.allowed[appID][path]
	if !ok {
		return ports.APIResponse{}, &domain.Error{Kind: domain.KindForbidden,
			Msg: path + " is not in the allow-list of app " + appID + " (openapi_paths)"}
	}
	if err := o.admit(ctx, appID, path, limit); err != nil {
		return ports.APIResponse{}, err
	}
	req := ports.APIRequest{Method: c.Method, Path: path, RawQuery: domain.WithoutAccessToken(c.RawQuery),
		ContentType: c.ContentType, Accept: c.Accept, Body: c.Body}
	var resp ports.APIResponse
	err = o.wechat.call(ctx, appID, func(wc ports.WeChat, tok domain.AccessToken) error {
		var err error
		resp, err = wc.Forward(ctx, tok, req)
		return err
	})
	if err != nil {
		// A token rejected again once replaced is WeChat's trouble, not
		// the caller's: code 8 like any other failure to get an answer.
		return ports.APIResponse{}, fmt.Errorf("%s: %w", path, err)
	}
	return resp, nil
}

// admit counts a call of path for appID against its limit.
func (o *OpenAPI) admit(ctx context.Context, appID, path string, limit int) error {
	l := o.limiters[limit]
	if l == nil {
		return nil
	}
	ok, retry, err := l.Allow(ctx, "openapi:"+appID+":"+path)
	if err != nil {
		return fmt.Errorf("openapi rate limit: %w", err)
	}
	if !ok {
		return &domain.Error{Kind: domain.KindRateLimited, RetryAfter: retry,
			Msg: "over the limit of " + strconv.Itoa(limit) + " calls per minute of " + path + " for app " + appID}
	}
	return nil
}
