package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// statusOf is the HTTP status each contract code may come with.
var statusOf = map[int][]int{
	0: {200}, 1: {400, 404, 405}, 2: {401}, 3: {400}, 4: {400}, 5: {400}, 6: {400},
	7: {429}, 8: {502, 504}, 9: {503}, 10: {500}, 11: {413, 415},
}

// FuzzRequest sends any body, with any of the content types clients use, to
// every route: the answer is always the envelope with a contract code and
// its status, never code 10 (a panic or a bug), and a rejected request
// writes nothing.
func FuzzRequest(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/login/"}, {"POST", "/login"}, {"POST", "/getinfo/"}, {"POST", "/api/v1/login"},
		{"POST", "/api/v1/userinfo"}, {"GET", "/api/v1/me"}, {"POST", "/api/v1/logout"}, {"GET", "/healthz"},
		{"POST", "/api/v1/me/profile"}, {"POST", "/api/v1/me/avatar"}, {"POST", "/api/v1/me/phone"},
		{"POST", "/api/v1/me/phone/remove"}, {"GET", "/api/v1/session"}, {"GET", "/media/avatars/x.jpg"},
	}
	types := []string{"", "application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8",
		"text/plain", "multipart/form-data; boundary=x", "application/vnd.api+json", ";;;"}
	for _, seed := range []struct {
		route, ctype uint8
		body, auth   string
	}{
		{0, 1, `{"code":"c1"}`, ""},
		{2, 1, `{"iv":"AQIDBAUGBwgJCgsMDQ4PEA==","encrypedData":"AAAA","token":"x"}`, ""},
		{2, 2, `iv=a b&encrypedData=c+d&token=e`, "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{4, 0, `{"encryptedData":"","iv":null}`, "Bearer "},
		{3, 1, `{"code":"c1","code":"c2"}`, ""},
		{1, 1, `[{"code":1}]`, "Basic x"},
		{6, 2, `token=%zz`, ""},
		{2, 1, "{\"iv\":\"\xff\"}", ""},
		{8, 1, `{"nickName":"\u202e x","gender":"1"}`, "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{9, 5, "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nGIF89a\r\n--x--\r\n", ""},
		{10, 1, `{"code":"p1","encryptedData":"AAAA","iv":"x"}`, ""},
	} {
		f.Add(seed.route, seed.ctype, []byte(seed.body), seed.auth)
	}
	fx := newFixture(f, nil)
	fx.wechat.AddCode("c1", "o1", "", key1)
	f.Fuzz(func(t *testing.T, route, ctype uint8, body []byte, auth string) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		if ct := types[int(ctype)%len(types)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			req.Header["Authorization"] = []string{auth} // as sent, even if not a valid header value
		}
		writes := fx.users.WriteCount()
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		var e struct {
			Code   *int            `json:"code"`
			Status *int            `json:"status"`
			Msg    string          `json:"msg"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == nil || e.Status == nil {
			t.Fatalf("%s %s: not the envelope: %q", r.method, r.path, rec.Body.String())
		}
		if *e.Code != *e.Status || *e.Code == 10 {
			t.Fatalf("%s %s: code %d status %d: %s", r.method, r.path, *e.Code, *e.Status, rec.Body.String())
		}
		ok := false
		for _, s := range statusOf[*e.Code] {
			ok = ok || s == rec.Code
		}
		if !ok {
			t.Fatalf("%s %s: code %d with HTTP %d", r.method, r.path, *e.Code, rec.Code)
		}
		if *e.Code != 0 && fx.users.WriteCount() != writes {
			t.Fatalf("%s %s: code %d, yet it wrote", r.method, r.path, *e.Code)
		}
		if rec.Code != http.StatusOK && string(e.Data) != "null" {
			t.Fatalf("an error with data: %s", rec.Body.String())
		}
	})
}
