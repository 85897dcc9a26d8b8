package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
	"wxbackend/domain"
)

// POST /v1/messages names the user by openid or by user_id (the unionid),
// not both; a user_id no user of the app has is code 1, nothing stored.
func TestMessages_SendByUserID(t *testing.T) {
	base := newInternalFixture(t)
	f := newInternalFixture(t, httpapi.MessageRoutes(base.app, slog.New(slog.DiscardHandler))...)
	ctx := t.Context()
	if _, err := base.users.EnsureUser(ctx, domain.Identity{AppID: appID, OpenID: "oByUnion"}, "uPerson", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := base.app.Subscriptions.Record(ctx, domain.Session{AppID: appID, OpenID: "oByUnion"}, map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.send)
		req.Header.Set("Content-Type", "application/json")
		return f.call(t, req)
	}
	for name, c := range map[string]struct {
		body, msg string
	}{
		"unknown": {`{"user_id":"uNobody","template_id":"tmpl","data":{"thing1":"到了"}}`, "no user of the app"},
		"both":    {`{"user_id":"uPerson","openid":"oByUnion","template_id":"tmpl","data":{"thing1":"到了"}}`, "not both"},
	} {
		rec := post(c.body)
		wantEnvelope(t, rec, 1, 400)
		if !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %s", name, rec.Body)
		}
	}
	rec := post(`{"user_id":"uPerson","template_id":"tmpl","data":{"thing1":"到了"}}`)
	var sent struct{ Data httpapi.MessageView }
	if err := json.Unmarshal(rec.Body.Bytes(), &sent); err != nil || rec.Code != 202 || sent.Data.OpenID != "oByUnion" {
		t.Fatalf("by user_id: HTTP %d %s", rec.Code, rec.Body)
	}
	if sent.Data.ID != 1 {
		t.Fatalf("a refused request stored a message: id %d", sent.Data.ID)
	}
}
