package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/openapitest"
)

// operations lists "METHOD /path" of every operation of the document.
func documented(t *testing.T) []string {
	var out []string
	for path, item := range openapitest.Document(t).Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// A route without a documented operation, or an operation without a
// route, fails.
func TestOpenAPI_EveryRouteIsDocumentedAndNothingElse(t *testing.T) {
	f := newFixture(t, nil) // avatars served: every route there is
	var routes []string
	err := chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// A route of any path under a prefix (chi's "/*") is documented as
		// one parameter, "/{path}": OpenAPI has no wildcard.
		if prefix, ok := strings.CutSuffix(route, "/*"); ok {
			route = prefix + "/{path}"
		}
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(routes)
	if docs := documented(t); !slices.Equal(routes, docs) {
		t.Fatalf("routes\n  %s\ndocumented\n  %s", strings.Join(routes, "\n  "), strings.Join(docs, "\n  "))
	}
}

// docs/api-contract.md names the same routes as the document: the prose
// and the OpenAPI file cannot drift apart silently.
func TestOpenAPI_TheContractsRoutesAreTheDocuments(t *testing.T) {
	md, err := os.ReadFile("../../docs/api-contract.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(GET|POST|HEAD|ANY) (/[^` ]*)`")
	var contract []string
	for _, m := range row.FindAllStringSubmatch(string(md), -1) {
		path := strings.NewReplacer("<", "{", ">", "}").Replace(m[2])
		if m[1] == "ANY" { // every method OpenAPI names
			for _, method := range []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"} {
				contract = append(contract, method+" "+path)
			}
			continue
		}
		contract = append(contract, m[1]+" "+path)
		if strings.HasSuffix(path, "/") && path != "/" { // the classic routes answer without it too
			contract = append(contract, m[1]+" "+strings.TrimSuffix(path, "/"))
		}
		if strings.HasPrefix(path, "/media/") {
			contract = append(contract, "HEAD "+path)
		}
	}
	slices.Sort(contract)
	if docs := documented(t); !slices.Equal(contract, docs) {
		t.Fatalf("docs/api-contract.md\n  %s\nopenapi.json\n  %s", strings.Join(contract, "\n  "), strings.Join(docs, "\n  "))
	}
}

// docs/openapi.json is the served document (make readme copies it).
func TestOpenAPI_DocsHoldTheServedDocument(t *testing.T) {
	docs, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, httpapi.OpenAPI) {
		t.Fatal("docs/openapi.json differs from adapters/httpapi/openapi.json: run make readme")
	}
	f := newFixture(t, nil)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPI) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// The check the tests run on every response finds what the document does
// not allow.
func TestOpenAPI_CheckRefusesWhatTheDocumentDoesNotAllow(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	me := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
	for name, c := range map[string]struct {
		req    *http.Request
		status int
		body   string
	}{
		"a profile without fields": {me, 200, `{"code":0,"status":0,"msg":"ok","data":{"openId":"o1"}}`},
		"success with code 2":      {me, 200, `{"code":2,"status":2,"msg":"ok","data":null}`},
		"an undocumented status":   {me, 418, `{"code":1,"status":1,"msg":"x","data":null}`},
		"an unknown code":          {me, 401, `{"code":99,"status":99,"msg":"x","data":null}`},
		"an error with data":       {me, 401, `{"code":2,"status":2,"msg":"x","data":{}}`},
		"an undocumented path":     {httptest.NewRequest(http.MethodGet, "/api/v2/me", nil), 200, `{}`},
	} {
		if err := openapitest.Check(c.req, c.status, json, []byte(c.body)); err == nil {
			t.Errorf("%s: passed", name)
		}
	}
	ok := `{"code":2,"status":2,"msg":"无效的token","data":null}`
	if err := openapitest.Check(me, 401, json, []byte(ok)); err != nil {
		t.Errorf("a contract error: %v", err)
	}
}
