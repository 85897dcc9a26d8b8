package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"wxbackend/domain"
)

type ctxKey struct{}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// withRequestID gives each request an id: the caller's, when it has the
// bounded safe form safeID accepts (a proxy's), or a fresh random one. It is
// echoed in the response and in every log line of the request, so a caller's
// id of any other form (a control character, 10 KB) never reaches a log.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !safeID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

// maxRequestIDLen bounds a caller's request id; a UUID is 36 characters.
const maxRequestIDLen = 64

// safeID reports whether a caller's request id is 1 to maxRequestIDLen
// characters of [A-Za-z0-9._:-]: what proxies send (UUIDs, trace ids), and
// nothing a log reader or a terminal could mistake for anything else.
func safeID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// recoverer turns a panic into code 10, logged with its request id.
func (h *handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, h.log, domain.Wrap(domain.KindInternal, fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request, and reports it to the observer:
// never a body, a query or a header, so never a token.
func (h *handler) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route, d := logAccess(h.log, r, rec, start, "request")
		if h.observe != nil {
			h.observe(route, r.Method, rec.code, d)
		}
	})
}

// recorder remembers what a response was: its HTTP status, its size, and
// the contract code of its envelope (writeEnvelope sets it; 0 for anything
// else, an image say).
type recorder struct {
	http.ResponseWriter
	status, bytes, code int
	wroteHeader         bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logAccess writes a listener's access-log line of r once it is answered
// (never a body, a query or a header; extra holds what the listener adds,
// such as an API key's name) and returns its route pattern and duration.
func logAccess(log *slog.Logger, r *http.Request, rec *recorder, start time.Time, msg string, extra ...slog.Attr) (string, time.Duration) {
	d := time.Since(start)
	route := chi.RouteContext(r.Context()).RoutePattern()
	var buf [9]slog.Attr // stays on the stack (a make of a computed length did not)
	attrs := append(buf[:0],
		slog.String("request_id", requestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("route", route))
	attrs = append(attrs, extra...)
	attrs = append(attrs,
		slog.Int("status", rec.status),
		slog.Int("code", rec.code),
		slog.Int("bytes", rec.bytes),
		slog.Duration("duration", d))
	log.LogAttrs(r.Context(), slog.LevelInfo, msg, attrs...)
	return route, d
}
