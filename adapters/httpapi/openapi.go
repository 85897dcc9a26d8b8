package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is the OpenAPI 3.1 document of every route (openapi.json, served
// at GET /openapi.json; docs/openapi.json is a copy that a test keeps equal).
// Tests hold the routes to it, and the responses of the end-to-end tests.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPI serves the document.
func (h *handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	serveDocument(w, OpenAPI)
}

// serveDocument answers an OpenAPI document.
func serveDocument(w http.ResponseWriter, doc []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(doc)))
	hd.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc)
}
