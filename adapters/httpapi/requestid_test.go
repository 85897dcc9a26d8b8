package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// A caller's X-Request-Id of the bounded safe form is kept: echoed and logged.
func TestRequestID_SafeCallerIDIsKept(t *testing.T) {
	f := newFixture(t, nil)
	for _, id := range []string{"a", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:span.1_x", strings.Repeat("x", 64)} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("X-Request-Id", id)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Request-Id"); got != id {
			t.Fatalf("caller id %q answered as %q", id, got)
		}
		if !strings.Contains(f.logs.String(), "request_id="+id) {
			t.Fatalf("caller id %q not logged:\n%s", id, f.logs.String())
		}
	}
}

// Any other X-Request-Id is replaced by a fresh one and never reaches a log
// line: not a control character, not 10 KB.
func TestRequestID_UnsafeCallerIDIsReplacedAndNeverLogged(t *testing.T) {
	for name, id := range map[string]string{
		"ESC sequence": "\x1b[2J\x1b[31mowned",
		"C1 control":   "id\u0085x",
		"newline":      "id\nlevel=ERROR msg=forged",
		"10 KB":        strings.Repeat("k", 10<<10),
		"65 chars":     strings.Repeat("y", 65),
		"space":        "an id",
		"non-ASCII":    "идентификатор",
		"quote":        `id"x`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			req := httptest.NewRequest("GET", "/api/v1/me", nil) // no token: code 2, logged
			req.Header.Set("X-Request-Id", id)
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-Id")
			if got == id || len(got) != 16 {
				t.Fatalf("answered request id %q, want a fresh one", got)
			}
			logs := f.logs.String()
			if !strings.Contains(logs, "request_id="+got) {
				t.Fatalf("the fresh id is not in the log:\n%s", logs)
			}
			for _, bad := range []string{"\x1b", "\u0085", "forged", strings.Repeat("k", 64), strings.Repeat("y", 65), "an id", "идент", `id"x`} {
				if strings.Contains(logs, bad) {
					t.Fatalf("the log holds %q of the caller's id:\n%s", bad, logs)
				}
			}
		})
	}
}
