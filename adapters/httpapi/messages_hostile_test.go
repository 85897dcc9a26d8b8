package httpapi_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi"
	"wxbackend/domain"
)

// A message's identifiers and texts that a database or an operator's
// terminal would choke on are refused with code 1 naming the field, and
// nothing is stored or spent; a body over its limit is code 11 (413), as
// on every other route.
func TestMessages_HostileFieldsAreRefused(t *testing.T) {
	base := newInternalFixture(t)
	f := newInternalFixture(t, httpapi.MessageRoutes(base.app, slog.New(slog.DiscardHandler))...)
	if _, err := base.app.Subscriptions.Record(t.Context(), domain.Session{AppID: appID, OpenID: "o1"}, map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	post := func(body string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.send)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return f.call(t, req)
	}
	for _, c := range []struct{ name, body, field string }{
		{"NUL in the template", `{"openid":"o1","template_id":"tmpl\u0000","data":{"thing1":"a"}}`, "template_id"},
		{"escape in the template", `{"openid":"o1","template_id":"t\u001b[31m","data":{"thing1":"a"}}`, "template_id"},
		{"NUL in the openid", `{"openid":"o\u0000x","template_id":"tmpl","data":{"thing1":"a"}}`, "openid"},
		{"NUL in the user_id", `{"user_id":"u\u0000x","template_id":"tmpl","data":{"thing1":"a"}}`, "user_id"},
		{"NUL in the key", `{"idempotency_key":"a\u0000","openid":"o1","template_id":"tmpl","data":{"thing1":"a"}}`, "idempotency_key"},
		{"escape in the page", `{"openid":"o1","template_id":"tmpl","page":"p\u001b]0;x\u0007","data":{"thing1":"a"}}`, "page"},
		{"terminal codes in a value", `{"openid":"o1","template_id":"tmpl","data":{"thing1":"\u001b]0;pwn\u0007\u001b[2J"}}`, "data.thing1"},
	} {
		rec := post(c.body)
		wantEnvelope(t, rec, 1, 400)
		if !strings.Contains(rec.Body.String(), c.field) {
			t.Errorf("%s: the answer does not name %s: %s", c.name, c.field, rec.Body)
		}
	}
	big := `{"openid":"o1","template_id":"tmpl","data":{"thing1":"` + strings.Repeat("a", 70<<10) + `"}}`
	wantEnvelope(t, post(big), 11, 413)
	// Nothing was stored or spent: the one allowance still sends.
	if rec := post(`{"openid":"o1","template_id":"tmpl","data":{"thing1":"ok"}}`); rec.Code != 202 {
		t.Fatalf("after the refusals: HTTP %d %s", rec.Code, rec.Body)
	}
}
