package wiring_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/apikeys"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// openAPIServer is a server whose internal listener passes WeChat's API
// on, with a key of scope openapi and one of scope introspect only.
type openAPIServer struct {
	*server
	addr     string // the internal listener's host:port
	key      string // scope openapi
	otherKey string // scope introspect
	sbURL    string
	multi    *sandbox.Multi
}

func startOpenAPIServer(t *testing.T, set func(*config.Config)) *openAPIServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.toml")
	var keys [2]string
	var blocks []string
	for i, scope := range []string{"openapi", "introspect"} {
		key, digest, err := apikeys.NewKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = key
		blocks = append(blocks, apikeys.Block(apikeys.Entry{Name: "svc-" + scope, SHA256: digest, Scopes: []string{scope}}))
	}
	if err := os.WriteFile(path, []byte(strings.Join(blocks, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	if set != nil {
		set(&cfg)
	}
	cfg.DB = sqliteDB(t)
	cfg.Internal.Addr = "127.0.0.1:0" // the listener's address is read once it listens
	cfg.APIKeys.File = path
	sb := wiringtest.StartSandbox(t, &cfg)
	var internal wiring.InternalServer
	s := launch(t, cfg, fx.Populate(&internal))
	s.sb = sb.Sandbox
	return &openAPIServer{server: s, addr: internal.Addr(), key: keys[0], otherKey: keys[1], sbURL: sb.URL, multi: sb.Multi}
}

// call sends an origin-form request to the internal listener with key
// (none when ""), and returns the answer and its body.
func (s *openAPIServer) call(t *testing.T, key, method, pathQuery string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}, req)
}

// proxyClient is what a program given HTTP_PROXY=http://svc:KEY@listener
// uses.
func (s *openAPIServer) proxyClient(key string) *http.Client {
	u := &url.URL{Scheme: "http", Host: s.addr}
	if key != "" {
		u.User = url.UserPassword("svc", key)
	}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}, Timeout: 10 * time.Second}
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// raw sends raw, a request as bytes on the wire, to the internal listener.
func (s *openAPIServer) raw(t *testing.T, raw string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// direct calls the sandbox itself with its token in force, as a service
// holding the token would.
func (s *openAPIServer) direct(t *testing.T, path string, body []byte) []byte {
	t.Helper()
	tb, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": appID, "secret": appSecret})
	_, tok := do(t, http.DefaultClient, mustRequest(t, http.MethodPost, s.sbURL+"/cgi-bin/stable_token", tb))
	var a struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tok, &a); err != nil || a.AccessToken == "" {
		t.Fatalf("stable_token: %s", tok)
	}
	_, b := do(t, http.DefaultClient, mustRequest(t, http.MethodPost, s.sbURL+"/"+path+"?access_token="+a.AccessToken, body))
	return b
}

func mustRequest(t *testing.T, method, u string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// codeOf returns the contract code of an envelope answer.
func codeOf(t *testing.T, body []byte) int {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an envelope: %s", body)
	}
	return e.Code
}

// A service calls WeChat's API through the internal listener in both forms:
// origin-form with its key as a bearer, and absolute-form through the
// listener as its HTTP proxy, exactly as code written for Cloud Run's open
// API service does with HTTP_PROXY. Images arrive byte for byte, WeChat's
// JSON errors as JSON, and the sandbox only ever sees the app's token.
func TestE2E_OpenAPI_BothFormsPassWeChatsAnswersOn(t *testing.T) {
	s := startOpenAPIServer(t, nil)

	resp, body := s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{"path":"pages/index"}`))
	var link struct {
		ErrCode int    `json:"errcode"`
		URLLink string `json:"url_link"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &link) != nil || link.ErrCode != 0 || !strings.HasPrefix(link.URLLink, "https://wxaurl.cn/") {
		t.Fatalf("generate_urllink: %d %s", resp.StatusCode, body)
	}
	// WeChat's answers pass on as they are: a refusal (no consent), then a
	// msgid beyond float64's exact range.
	send := []byte(`{"touser":"o-user","template_id":"tpl","data":{"thing1":{"value":"hi"}}}`)
	if resp, body = s.call(t, s.key, http.MethodPost, "/cgi-bin/message/subscribe/send", send); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"errcode":43101`)) {
		t.Fatalf("subscribe/send without consent: %d %s", resp.StatusCode, body)
	}
	if err := s.sb.Subscribe("o-user", map[string]string{"tpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	resp, body = s.call(t, s.key, http.MethodPost, "/cgi-bin/message/subscribe/send", send)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"msgid":9007199254740993`)) {
		t.Fatalf("subscribe/send: %d %s", resp.StatusCode, body)
	}

	// Through the listener as HTTP proxy: the image is the sandbox's, byte for byte.
	scene := []byte(`{"scene":"id=42","page":"pages/item"}`)
	proxy := s.proxyClient(s.key)
	resp, img := do(t, proxy, mustRequest(t, http.MethodPost, "http://api.weixin.qq.com/wxa/getwxacodeunlimit", scene))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("getwxacodeunlimit: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := s.direct(t, "wxa/getwxacodeunlimit", scene); !bytes.Equal(img, want) || !bytes.Equal(img, sandbox.CodeImage("id=42", "pages/item", 0)) {
		t.Fatalf("the image differs from the sandbox's (%d bytes, want %d)", len(img), len(want))
	}
	// WeChat's JSON error instead of an image stays JSON.
	resp, body = do(t, proxy, mustRequest(t, http.MethodPost, "http://api.weixin.qq.com/wxa/getwxacodeunlimit",
		[]byte(`{"scene":"`+strings.Repeat("x", 33)+`"}`)))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "json") || !bytes.Contains(body, []byte(`"errcode":40169`)) {
		t.Fatalf("a bad scene: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// A caller's access_token, in any spelling, never reaches WeChat.
	for _, q := range []string{"?access_token=stolen", "?a=1&access_token=stolen&b=2", "?access%5Ftoken=stolen", "?ACCESS_TOKEN=stolen", "?x=1;access_token=stolen"} {
		resp, body = s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink"+q, []byte(`{}`))
		seen := s.sb.LastQuery("wxa/generate_urllink")
		if resp.StatusCode != 200 || len(seen["access_token"]) != 1 || seen.Get("access_token") == "stolen" || strings.Contains(fmt.Sprint(seen), "stolen") {
			t.Fatalf("%s: %d %s; the sandbox saw %v", q, resp.StatusCode, body, seen)
		}
	}
	if strings.Contains(s.logs.String(), s.key) {
		t.Fatal("the API key is in the logs")
	}
}

// An access token WeChat no longer takes is replaced once, and the call
// sent again: the sandbox counts the rejection and both calls.
func TestE2E_OpenAPI_RetriesOnceOnAnInvalidatedToken(t *testing.T) {
	s := startOpenAPIServer(t, nil)
	if resp, body := s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	before, calls := s.sb.Counters(), s.sb.APICalls()["wxa/generate_urllink"]
	if resp, body := do(t, http.DefaultClient, mustRequest(t, http.MethodPost, s.sbURL+"/sandbox/access_token/invalidate", nil)); resp.StatusCode != 200 {
		t.Fatalf("invalidate: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, s.proxyClient(s.key), mustRequest(t, http.MethodPost, "http://api.weixin.qq.com/wxa/generate_urllink", []byte(`{}`)))
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("url_link")) {
		t.Fatalf("after invalidation: %d %s", resp.StatusCode, body)
	}
	after := s.sb.Counters()
	if after.Rejected != before.Rejected+1 || after.TokensIssued != before.TokensIssued+1 || s.sb.APICalls()["wxa/generate_urllink"] != calls+2 {
		t.Fatalf("rejected %d→%d, issued %d→%d, calls %d→%d; want one rejection, one new token, two calls",
			before.Rejected, after.Rejected, before.TokensIssued, after.TokensIssued, calls, s.sb.APICalls()["wxa/generate_urllink"])
	}
}

// Hosts other than WeChat's API, tunnels, credential APIs and paths that
// are not what they look like are refused before anything reaches WeChat.
func TestE2E_OpenAPI_RefusesOtherHostsPathsAndCredentials(t *testing.T) {
	s := startOpenAPIServer(t, nil)
	auth := "Proxy-Authorization: Bearer " + s.key + "\r\n"
	req := func(line, host string) string {
		return line + "\r\nHost: " + host + "\r\n" + auth + "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
	}
	cases := []struct {
		name, raw string
		status    int
		code      int
	}{
		{"another host", req("POST http://evil.example/wxa/generate_urllink HTTP/1.1", "evil.example"), 403, 13},
		{"userinfo", req("POST http://api.weixin.qq.com@evil.example/wxa/generate_urllink HTTP/1.1", "evil.example"), 403, 13},
		{"an IP literal", req("POST http://127.0.0.2/wxa/generate_urllink HTTP/1.1", "127.0.0.2"), 403, 13},
		{"another port", req("POST http://api.weixin.qq.com:8080/wxa/generate_urllink HTTP/1.1", "api.weixin.qq.com"), 403, 13},
		{"https absolute", req("POST https://api.weixin.qq.com/wxa/generate_urllink HTTP/1.1", "api.weixin.qq.com"), 403, 13},
		{"our document, at another host", "GET http://evil.example/openapi.json HTTP/1.1\r\nHost: evil.example\r\n" + auth + "Connection: close\r\n\r\n", 403, 13},
		{"our route, through the proxy", req("POST http://api.weixin.qq.com/introspect HTTP/1.1", "api.weixin.qq.com"), 403, 13},
		{"CONNECT", "CONNECT api.weixin.qq.com:443 HTTP/1.1\r\nHost: api.weixin.qq.com:443\r\n" + auth + "\r\n", 405, 1},
		{"cgi-bin/token", req("GET http://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential HTTP/1.1", "api.weixin.qq.com"), 403, 13},
		{"stable_token", req("POST /cgi-bin/stable_token HTTP/1.1", "x"), 403, 13},
		{"jscode2session", req("GET /sns/jscode2session?js_code=x HTTP/1.1", "x"), 403, 13},
		{"encoded dot-dot", req("POST /wxa/%2e%2e/cgi-bin/token HTTP/1.1", "x"), 400, 1},
		{"dot-dot", req("POST http://api.weixin.qq.com/wxa/../cgi-bin/token HTTP/1.1", "api.weixin.qq.com"), 400, 1},
		{"encoded slash", req("POST /wxa%2fgenerate_urllink HTTP/1.1", "x"), 400, 1},
		{"empty segment", req("POST /wxa//generate_urllink HTTP/1.1", "x"), 400, 1},
		{"not allowed", req("POST /cgi-bin/user/info HTTP/1.1", "x"), 403, 13},
		{"a method WeChat has not", req("PUT /wxa/generate_urllink HTTP/1.1", "x"), 400, 1},
	}
	calls := s.sb.APICalls()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.raw(t, c.raw)
			if resp.StatusCode != c.status || codeOf(t, body) != c.code {
				t.Fatalf("%d %s, want %d code %d", resp.StatusCode, body, c.status, c.code)
			}
		})
	}
	if now := s.sb.APICalls(); !maps.Equal(now, calls) {
		t.Fatalf("WeChat was called: %v, before %v", now, calls)
	}
	// A Host header names nothing: the call goes to the configured WeChat.
	resp, body := s.raw(t, "POST /wxa/generate_urllink HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer "+s.key+
		"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	if resp.StatusCode != 200 || s.sb.APICalls()["wxa/generate_urllink"] != calls["wxa/generate_urllink"]+1 {
		t.Fatalf("origin-form with another Host: %d %s", resp.StatusCode, body)
	}
}

// No key is 401 (407 with Proxy-Authenticate for a proxy request), a key
// without the scope 403.
func TestE2E_OpenAPI_NeedsAKeyWithTheScope(t *testing.T) {
	s := startOpenAPIServer(t, nil)
	if resp, body := s.call(t, "", http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 401 || codeOf(t, body) != 2 {
		t.Fatalf("no key: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, s.proxyClient(""), mustRequest(t, http.MethodPost, "http://api.weixin.qq.com/wxa/generate_urllink", []byte(`{}`)))
	if resp.StatusCode != 407 || resp.Header.Get("Proxy-Authenticate") != `Basic realm="wxbackend"` || codeOf(t, body) != 2 {
		t.Fatalf("no key through the proxy: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = do(t, s.proxyClient("wrong"), mustRequest(t, http.MethodPost, "http://api.weixin.qq.com/wxa/generate_urllink", []byte(`{}`)))
	if resp.StatusCode != 407 {
		t.Fatalf("a wrong key through the proxy: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.call(t, s.otherKey, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 403 || codeOf(t, body) != 13 {
		t.Fatalf("a key without the scope: %d %s", resp.StatusCode, body)
	}
	if n := s.sb.APICalls()["wxa/generate_urllink"]; n != 0 {
		t.Fatalf("WeChat was called %d times", n)
	}
}

// Limits: a path's calls per minute (429 with Retry-After before WeChat's
// 45009), request and answer bodies, and WeChat's time to answer.
func TestE2E_OpenAPI_Limits(t *testing.T) {
	s := startOpenAPIServer(t, func(c *config.Config) {
		c.App.OpenAPIPerMinute = 2
		c.OpenAPI.MaxBody = 1024
		c.WeChat.MaxAnswer = 200
		c.WeChat.Timeout = 500 * time.Millisecond
	})
	for i := range 2 {
		if resp, body := s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`))
	if resp.StatusCode != 429 || codeOf(t, body) != 7 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if n := s.sb.APICalls()["wxa/generate_urllink"]; n != 2 {
		t.Fatalf("WeChat saw %d calls, want 2", n)
	}
	big := []byte(`{"content":"` + strings.Repeat("a", 2048) + `"}`)
	if resp, body := s.call(t, s.key, http.MethodPost, "/cgi-bin/message/subscribe/send", big); resp.StatusCode != 413 || codeOf(t, body) != 11 {
		t.Fatalf("a body over the bound: %d %s", resp.StatusCode, body)
	}
	if n := s.sb.APICalls()["cgi-bin/message/subscribe/send"]; n != 0 {
		t.Fatalf("WeChat saw %d calls of a body over the bound", n)
	}
	// A 430-pixel code is over 200 bytes: WeChat's answer over the bound is code 8.
	if resp, body := s.call(t, s.key, http.MethodPost, "/wxa/getwxacodeunlimit", []byte(`{"scene":"a"}`)); resp.StatusCode != 502 || codeOf(t, body) != 8 {
		t.Fatalf("an answer over the bound: %d %s", resp.StatusCode, body)
	}
	s.sb.InjectAPIFault("cgi-bin/message/subscribe/send", sandbox.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/cgi-bin/message/subscribe/send", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, body = do(t, &http.Client{Transport: &http.Transport{}}, req)
	if resp.StatusCode != 504 || codeOf(t, body) != 8 {
		t.Fatalf("WeChat not answering: %d %s", resp.StatusCode, body)
	}
}

// With several apps X-WX-APPID names the app, whose own allow-list
// applies; the metrics count calls by app, path and errcode.
func TestE2E_OpenAPI_SeveralAppsAndTheirMetrics(t *testing.T) {
	metricsAddr := wiringtest.FreeAddr(t)
	s := startOpenAPIServer(t, func(c *config.Config) {
		dir := t.TempDir()
		apps := filepath.Join(dir, "apps.toml")
		if err := os.WriteFile(apps, []byte(`
[[app]]
appid = "`+shopApp+`"
secret = "shop-secret"
[[app]]
appid = "`+staffApp+`"
secret = "staff-secret"
openapi_paths = ["wxa/getwxacodeunlimit"]
`), 0o600); err != nil {
			t.Fatal(err)
		}
		loaded, err := config.Load([]string{"--apps-file", apps}, func(string) (string, bool) { return "", false }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		*c = loaded
		c.Metrics.Addr = metricsAddr
	})
	urllink, code := "/wxa/generate_urllink", "/wxa/getwxacodeunlimit"
	if resp, body := s.call(t, s.key, http.MethodPost, urllink, []byte(`{}`)); resp.StatusCode != 400 || codeOf(t, body) != 1 {
		t.Fatalf("no app named: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.call(t, s.key, http.MethodPost, urllink, []byte(`{}`), "X-WX-APPID", shopApp); resp.StatusCode != 200 {
		t.Fatalf("shop: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.call(t, s.key, http.MethodPost, urllink, []byte(`{}`), "X-WX-APPID", staffApp); resp.StatusCode != 403 || codeOf(t, body) != 13 {
		t.Fatalf("staff, outside its list: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, s.proxyClient(s.key), func() *http.Request {
		r := mustRequest(t, http.MethodPost, "http://api.weixin.qq.com"+code, []byte(`{"scene":"staff"}`))
		r.Header.Set("X-WX-APPID", staffApp)
		return r
	}())
	if resp.StatusCode != 200 || !bytes.Equal(body, sandbox.CodeImage("staff", "", 0)) {
		t.Fatalf("staff's code: %d", resp.StatusCode)
	}
	if s.multi.App(shopApp).APICalls()["wxa/generate_urllink"] != 1 || s.multi.App(staffApp).APICalls()["wxa/getwxacodeunlimit"] != 1 {
		t.Fatalf("shop %v, staff %v", s.multi.App(shopApp).APICalls(), s.multi.App(staffApp).APICalls())
	}
	m := scrape(t, metricsAddr)
	if v := value(m, "wxb_openapi_calls_total", "app", shopApp, "path", "wxa/generate_urllink", "errcode", "0"); v != 1 {
		t.Errorf("shop's urllink calls: %v", v)
	}
	if v := value(m, "wxb_openapi_calls_total", "app", staffApp, "path", "wxa/getwxacodeunlimit", "errcode", "none"); v != 1 {
		t.Errorf("staff's code calls: %v", v)
	}
}

// With Redis sessions a path's limit is shared by every server: two
// servers of one app admit the limit between them.
func TestE2E_OpenAPI_LimitsAreSharedThroughRedis(t *testing.T) {
	sess, rc := redisSessions(t)
	set := func(c *config.Config) {
		c.Sessions, c.Redis = sess, rc
		c.App.OpenAPIPerMinute = 3
	}
	a, b := startOpenAPIServer(t, set), startOpenAPIServer(t, set)
	for i, s := range []*openAPIServer{a, b, a} {
		if resp, body := s.call(t, s.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := b.call(t, b.key, http.MethodPost, "/wxa/generate_urllink", []byte(`{}`)); resp.StatusCode != 429 || codeOf(t, body) != 7 {
		t.Fatalf("the 4th call across two servers: %d %s", resp.StatusCode, body)
	}
}
