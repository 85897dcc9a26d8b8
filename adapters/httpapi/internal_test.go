package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/domain"
)

// internalFixture is the internal listener's router on the public
// fixture's use cases, with API keys of a file: introspect (every app),
// shop (introspect, one other app), sender (messages only).
type internalFixture struct {
	*fixture
	h                      http.Handler
	introspect, shop, send string
	logs                   *strings.Builder
	mu                     sync.Mutex
	observed               []string
}

func newInternalFixture(t *testing.T, routes ...httpapi.InternalRoute) *internalFixture {
	t.Helper()
	f := &internalFixture{fixture: newFixture(t, nil), logs: &strings.Builder{}}
	var file []string
	for _, k := range []struct {
		into   *string
		name   string
		scopes []string
		apps   []string
	}{{&f.introspect, "orders", []string{"introspect"}, nil}, {&f.shop, "shop", []string{"introspect"}, []string{"wx0000000000000000"}},
		{&f.send, "sender", []string{"messages"}, nil}} {
		key, digest, err := apikeys.NewKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		*k.into = key
		file = append(file, apikeys.Block(apikeys.Entry{Name: k.name, SHA256: digest, Scopes: k.scopes, Apps: k.apps}))
	}
	path := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(path, []byte(strings.Join(file, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	keys, err := apikeys.Open(path, log)
	if err != nil {
		t.Fatal(err)
	}
	f.h = httpapi.NewInternalRouter(f.app, keys, log, func(route, key string, status int, _ time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.observed = append(f.observed, route+" "+key+" "+http.StatusText(status))
	}, routes...)
	t.Cleanup(func() {
		for _, k := range []string{f.introspect, f.shop, f.send} {
			if strings.Contains(f.logs.String(), k) || strings.Contains(f.logs.String(), apikeys.Digest(k)) {
				t.Errorf("a key is in the log:\n%s", f.logs)
			}
		}
	})
	return f
}

// call sends a request to the internal router and checks the answer
// against the internal listener's OpenAPI document.
func (f *internalFixture) call(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if err := checkInternal(req, rec); err != nil {
		t.Error(err)
	}
	return rec
}

// introspectReq is POST /introspect of token, with the headers given.
func introspectReq(token string, header ...string) *http.Request {
	req := httptest.NewRequest("POST", "/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func decodeIntrospection(t *testing.T, rec *httptest.ResponseRecorder) apiclient.Introspection {
	t.Helper()
	if rec.Code != 200 {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var in apiclient.Introspection
	if err := json.Unmarshal(rec.Body.Bytes(), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func wantEnvelope(t *testing.T, rec *httptest.ResponseRecorder, code, status int) {
	t.Helper()
	var env apiclient.Raw
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != status || env.Code != code || env.Status != code {
		t.Fatalf("HTTP %d %s, want code %d HTTP %d", rec.Code, rec.Body, code, status)
	}
}

func TestIntrospect_ALiveTokenIsWhoItIs(t *testing.T) {
	f := newInternalFixture(t)
	tok := f.login(t, "c1")
	in := decodeIntrospection(t, f.call(t, introspectReq(tok, "Authorization", "Bearer "+f.introspect)))
	now := f.clock.Now()
	want := apiclient.Introspection{Active: true, Subject: "o1", AppID: appID, ExpiresAt: now.Add(time.Hour).Unix(),
		IssuedAt: now.Unix(), TokenType: "Bearer", ClientID: appID}
	if in != want {
		t.Fatalf("%+v, want %+v", in, want)
	}
	// JSON too, and a hint is ignored.
	req := httptest.NewRequest("POST", "/introspect", strings.NewReader(`{"token":"`+tok+`","token_type_hint":"access_token"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.introspect)
	if in := decodeIntrospection(t, f.call(t, req)); in != want {
		t.Fatalf("JSON: %+v", in)
	}
	if !strings.Contains(f.logs.String(), "key=orders") || strings.Contains(f.logs.String(), tok) {
		t.Fatalf("access log:\n%s", f.logs)
	}
	if f.observed[0] != "/introspect orders OK" {
		t.Fatalf("observed %q", f.observed)
	}
}

func TestIntrospect_InactiveTokensAre200AndInactive(t *testing.T) {
	f := newInternalFixture(t)
	tok := f.login(t, "c1")
	for name, c := range map[string]struct{ key, token string }{
		"malformed":                     {f.introspect, "nope"},
		"of an app the key may not see": {f.shop, tok},
	} {
		if in := decodeIntrospection(t, f.call(t, introspectReq(c.token, "Authorization", "Bearer "+c.key))); in != (apiclient.Introspection{}) {
			t.Errorf("%s: %+v", name, in)
		}
	}
	if got := f.call(t, introspectReq(tok, "Authorization", "Bearer "+f.introspect)).Body.String(); got != `{"active":true,"sub":"o1","appid":"`+appID+`","exp":`+
		itoa(f.clock.Now().Add(time.Hour).Unix())+`,"iat":`+itoa(f.clock.Now().Unix())+`,"token_type":"Bearer","client_id":"`+appID+`"}` {
		t.Fatalf("active: %s", got)
	}
	f.clock.Advance(time.Hour)
	if got := f.call(t, introspectReq(tok, "Authorization", "Bearer "+f.introspect)).Body.String(); got != `{"active":false}` {
		t.Fatalf("expired: %s", got)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestInternal_KeysAreCheckedFromEveryHeaderTheyMayComeIn(t *testing.T) {
	f := newInternalFixture(t)
	tok := f.login(t, "c1")
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for name, c := range map[string]struct {
		header       []string
		code, status int
	}{
		"no key":                       {nil, 2, 401},
		"an unknown key":               {[]string{"Authorization", "Bearer wxk_unknown"}, 2, 401},
		"a key of another scheme":      {[]string{"Authorization", "Basic " + f.introspect}, 2, 401},
		"a key without the scope":      {[]string{"Authorization", "Bearer " + f.send}, 13, 403},
		"proxy basic, key as password": {[]string{"Proxy-Authorization", basic("orders", f.introspect)}, 0, 200},
		"proxy basic, key as user":     {[]string{"Proxy-Authorization", basic(f.introspect, "")}, 0, 200},
		"proxy bearer":                 {[]string{"Proxy-Authorization", "Bearer " + f.introspect}, 0, 200},
		"proxy basic, unknown":         {[]string{"Proxy-Authorization", basic("orders", "wxk_unknown")}, 2, 401},
		"proxy basic, not base64":      {[]string{"Proxy-Authorization", "Basic %%%"}, 2, 401},
		"proxy, another scheme":        {[]string{"Proxy-Authorization", "Digest " + f.introspect}, 2, 401},
	} {
		rec := f.call(t, introspectReq(tok, c.header...))
		if c.code == 0 {
			if in := decodeIntrospection(t, rec); !in.Active {
				t.Errorf("%s: %+v", name, in)
			}
			continue
		}
		t.Run(name, func(t *testing.T) { wantEnvelope(t, rec, c.code, c.status) })
		if c.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", name)
		}
	}
	req := introspectReq(tok)
	req.Header.Add("Authorization", "Bearer "+f.introspect)
	req.Header.Add("Authorization", "Bearer "+f.introspect)
	wantEnvelope(t, f.call(t, req), 2, 401)
	if !strings.Contains(f.logs.String(), "key=sender") {
		t.Errorf("a refused key's name is not in the log:\n%s", f.logs)
	}
}

// readSpy is a body that records whether anything read it.
type readSpy struct{ read bool }

func (b *readSpy) Read(p []byte) (int, error) { b.read = true; return 0, io.EOF }

// The key is checked before any of the body is read: a caller without one
// cannot make the server read (or wait for) a body.
func TestInternal_KeyIsCheckedBeforeTheBodyIsRead(t *testing.T) {
	f := newInternalFixture(t)
	for _, header := range [][]string{nil, {"Authorization", "Bearer wxk_unknown"}, {"Authorization", "Bearer " + f.send}} {
		body := &readSpy{}
		req := httptest.NewRequest("POST", "/introspect", body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code == 200 || body.read {
			t.Errorf("%q: HTTP %d, body read %v", header, rec.Code, body.read)
		}
	}
	big := introspectReq(strings.Repeat("x", 5000), "Authorization", "Bearer "+f.introspect)
	wantEnvelope(t, f.call(t, big), 11, 413)
	wantEnvelope(t, f.call(t, introspectReq("", "Authorization", "Bearer "+f.introspect)), 1, 400)
}

// A route group is one InternalRoute: its scope is enforced, the key
// reaches it by name only, and the key's header does not.
func TestInternal_AnAddedRouteGetsItsScopeAndNotTheKeyHeader(t *testing.T) {
	var seen http.Header
	f := newInternalFixture(t, httpapi.InternalRoute{Scope: domain.ScopeMessages, Method: "POST", Pattern: "/v1/messages",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r.Header.Clone()
			w.WriteHeader(http.StatusAccepted)
		})})
	req := httptest.NewRequest("POST", "/v1/messages", nil)
	req.Header.Set("Authorization", "Bearer "+f.introspect)
	rec := httptest.NewRecorder() // a route of this test's, not in the document
	f.h.ServeHTTP(rec, req)
	wantEnvelope(t, rec, 13, 403)
	req = httptest.NewRequest("POST", "/v1/messages", nil)
	req.Header.Set("Proxy-Authorization", "Bearer "+f.send)
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || seen == nil || seen.Get("Proxy-Authorization") != "" {
		t.Fatalf("HTTP %d, the handler saw %v", rec.Code, seen)
	}
	if f.observed[len(f.observed)-1] != "/v1/messages sender Accepted" {
		t.Fatalf("observed %q", f.observed)
	}
}

func TestInternal_ServesItsOpenAPIDocument(t *testing.T) {
	f := newInternalFixture(t)
	rec := f.call(t, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPIInternal) {
		t.Fatalf("HTTP %d", rec.Code)
	}
	docs, err := os.ReadFile("../../docs/openapi-internal.json")
	if err != nil || !bytes.Equal(docs, httpapi.OpenAPIInternal) {
		t.Fatalf("docs/openapi-internal.json differs from adapters/httpapi/openapi-internal.json: run make readme (%v)", err)
	}
	wantEnvelope(t, f.call(t, httptest.NewRequest("GET", "/nowhere", nil)), 1, 404)
}

var (
	internalDocOnce sync.Once
	internalRouter  routers.Router
	internalDocErr  error
)

// checkInternal validates an answer of the internal router against its
// document.
func checkInternal(req *http.Request, rec *httptest.ResponseRecorder) error {
	internalDocOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIInternal)
		if err == nil {
			err = doc.Validate(context.Background())
		}
		if err == nil {
			doc.Servers = nil
			internalRouter, err = gorillamux.NewRouter(doc)
		}
		internalDocErr = err
	})
	if internalDocErr != nil {
		return internalDocErr
	}
	match := req.Clone(context.Background())
	match.URL = &url.URL{Path: req.URL.Path}
	route, params, err := internalRouter.FindRoute(match)
	if err != nil {
		if rec.Code == 404 || rec.Code == 405 {
			return nil
		}
		return err
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: match, PathParams: params, Route: route, Options: opts},
		Status:                 rec.Code, Header: rec.Header(), Options: opts,
	}
	in.SetBodyBytes(rec.Body.Bytes())
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// docs/api-contract.md's table of internal routes (scope | route) names
// the routes of the internal document that need a key, and no other.
func TestOpenAPIInternal_TheContractsRoutesAreTheDocuments(t *testing.T) {
	md, err := os.ReadFile("../../docs/api-contract.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z]+)` \\| `(GET|POST) (/[^` ]*)`")
	var contract []string
	for _, m := range row.FindAllStringSubmatch(string(md), -1) {
		contract = append(contract, m[1]+" "+m[2]+" "+m[3])
	}
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIInternal)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil && len(*op.Security) == 0 {
				continue // open: the document itself
			}
			documented = append(documented, strings.Join(op.Tags, ",")+" "+method+" "+path)
		}
	}
	slices.Sort(contract)
	slices.Sort(documented)
	if len(contract) == 0 || !slices.Equal(contract, documented) {
		t.Fatalf("docs/api-contract.md\n  %s\nopenapi-internal.json\n  %s", strings.Join(contract, "\n  "), strings.Join(documented, "\n  "))
	}
}
