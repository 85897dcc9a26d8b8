// Package echo is the demo's service behind the built-in gateway: it
// answers every request with what it received, the identity headers
// first, as JSON. make run starts it (cmd/wxecho) and routes the gateway's
// /app/ to it; make demo and the example mini-program call it and print
// what it saw. It trusts the headers because only the gateway reaches it
// (it listens on loopback).
package echo

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Answer is what the service answers: the request as it arrived.
type Answer struct {
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Query   string `json:"query,omitempty"`
	// Identity are the headers of Cloud Run's conventions the service got
	// (X-WX-…, X-Original-Forwarded-For), by their canonical name: who
	// calls, as the gateway vouches for it.
	Identity map[string]string `json:"identity"`
	// Headers are the other headers it got.
	Headers map[string]string `json:"headers"`
	// BodyBytes is the size of the body it got.
	BodyBytes int64 `json:"bodyBytes"`
}

// Name is the service's name in its answers.
const Name = "wxecho"

// Handler answers every request with its Answer.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		a := Answer{Service: Name, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Identity: map[string]string{}, Headers: map[string]string{}, BodyBytes: n}
		for name, v := range r.Header {
			n := strings.ToLower(name)
			if strings.HasPrefix(n, "x-wx-") || n == "x-original-forwarded-for" {
				a.Identity[name] = strings.Join(v, ", ")
			} else {
				a.Headers[name] = strings.Join(v, ", ")
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a)
	})
}
