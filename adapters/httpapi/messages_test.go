package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi"
	"wxbackend/domain"
)

func TestMessages_InternalRoutes(t *testing.T) {
	// The routes run on base's use cases; f is the listener with them.
	base := newInternalFixture(t)
	f := newInternalFixture(t, httpapi.MessageRoutes(base.app, slog.New(slog.DiscardHandler))...)
	post := func(key, body string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return f.call(t, req)
	}
	body := `{"openid":"o1","template_id":"tmpl","page":"pages/index","data":{"thing1":{"value":"您的订单已发货"},"number2":"2"}}`
	// No consent: refused, nothing stored.
	wantEnvelope(t, post(f.send, body, "Idempotency-Key", "k1"), 13, 403)
	if _, err := base.app.Subscriptions.Record(t.Context(), domain.Session{AppID: appID, OpenID: "o1"}, map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	// A key of another scope: 403 before anything.
	wantEnvelope(t, post(f.introspect, body, "Idempotency-Key", "k1"), 13, 403)
	rec := post(f.send, body, "Idempotency-Key", "k1")
	if rec.Code != 202 {
		t.Fatalf("send: HTTP %d %s", rec.Code, rec.Body)
	}
	var first struct{ Data httpapi.MessageView }
	if err := json.Unmarshal(rec.Body.Bytes(), &first); err != nil || first.Data.Status != "queued" || first.Data.Data["thing1"] != "您的订单已发货" {
		t.Fatalf("send: %s %v", rec.Body, err)
	}
	// The same key again (in the body this time): the first message, 200.
	rec = post(f.send, strings.Replace(body, `{"openid"`, `{"idempotency_key":"k1","openid"`, 1))
	var again struct{ Data httpapi.MessageView }
	_ = json.Unmarshal(rec.Body.Bytes(), &again)
	if rec.Code != 200 || again.Data.ID != first.Data.ID {
		t.Fatalf("the same key again: HTTP %d %s", rec.Code, rec.Body)
	}
	// Bad data: code 1 naming the keyword.
	rec = post(f.send, `{"openid":"o1","template_id":"tmpl","data":{"number2":"two"}}`)
	wantEnvelope(t, rec, 1, 400)
	if !strings.Contains(rec.Body.String(), "data.number2") {
		t.Fatalf("bad data: %s", rec.Body)
	}
	req := httptest.NewRequest("GET", "/v1/messages/"+itoa(first.Data.ID), nil)
	req.Header.Set("Authorization", "Bearer "+f.send)
	rec = f.call(t, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"queued"`) {
		t.Fatalf("get: HTTP %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("GET", "/v1/messages/999", nil)
	req.Header.Set("Authorization", "Bearer "+f.send)
	wantEnvelope(t, f.call(t, req), 1, 400)
}
