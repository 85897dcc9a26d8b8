// Package openapitest holds HTTP responses to the OpenAPI document of
// adapters/httpapi with getkin/kin-openapi, for tests: the document is
// loaded and validated once, and a RoundTripper checks every response that
// passes through it.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"wxbackend/adapters/httpapi"
)

var (
	loadOnce sync.Once
	doc      *openapi3.T
	router   routers.Router
	loadErr  error
)

// Document returns the OpenAPI document, loaded and validated.
func Document(t testing.TB) *openapi3.T {
	t.Helper()
	load()
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return doc
}

func load() {
	loadOnce.Do(func() {
		d, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
		if err != nil {
			loadErr = fmt.Errorf("load the OpenAPI document: %w", err)
			return
		}
		if err := d.Validate(context.Background()); err != nil {
			loadErr = fmt.Errorf("the OpenAPI document is invalid: %w", err)
			return
		}
		doc = d
		// Match paths on any host: servers run on free ports in tests.
		routed := *d
		routed.Servers = openapi3.Servers{{URL: "/"}}
		router, loadErr = gorillamux.NewRouter(&routed)
	})
}

// Check validates one response to req against the document. A request to a
// path the document does not have is an error only when the server's
// answer is not the contract's "no such route" (404 or 405, code 1).
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	load()
	if loadErr != nil {
		return loadErr
	}
	match := req.Clone(context.Background())
	match.URL = &url.URL{Path: req.URL.Path, RawQuery: req.URL.RawQuery} // any host
	route, params, err := router.FindRoute(match)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d, and the document has no such operation: %w", req.Method, req.URL.Path, status, err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		opts.ExcludeResponseBody = true // an image: its bytes are not a schema's
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: match, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d %s, which the document does not allow: %w", req.Method, req.URL.Path, status, body, err)
	}
	return nil
}

// Transport is a RoundTripper that checks every response it carries with
// Check, and records what fails for Failures.
type Transport struct {
	Base http.RoundTripper // nil: http.DefaultTransport as it was at init

	// Only, when set, limits the check to requests it accepts (the
	// server's, not WeChat's stand-in's, say).
	Only func(*http.Request) bool

	mu       sync.Mutex
	failures []string
	checked  int
}

var defaultTransport = http.DefaultTransport

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = defaultTransport
	}
	return t.roundTrip(base, req)
}

// Wrap returns a RoundTripper over base that checks and records as t does
// (for a client with a transport of its own).
func (t *Transport) Wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) { return t.roundTrip(base, req) })
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (t *Transport) roundTrip(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := base.RoundTrip(req)
	if err != nil || (t.Only != nil && !t.Only(req)) {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil // the caller sees the same short body
	}
	cerr := Check(req, resp.StatusCode, resp.Header, body)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checked++
	if cerr != nil {
		t.failures = append(t.failures, cerr.Error())
	}
	return resp, nil
}

// Failures returns what failed so far, and how many responses were checked.
func (t *Transport) Failures() ([]string, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.failures...), t.checked
}
