package httpapi_test

import (
	"encoding/json"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
)

func TestSubscriptions_RecordsWhatRequestSubscribeMessageAnswered(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "code-sub")
	bearer := []string{"Authorization", "Bearer " + tok}
	r := f.do(t, "POST", "/api/v1/me/subscriptions", map[string]any{"errMsg": "requestSubscribeMessage:ok",
		"tmplB": "reject", "tmplA": "accept"}, bearer...)
	want(t, r, 0, 200)
	var got apiclient.Subscriptions
	if err := json.Unmarshal(r.Data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Subscriptions) != 2 || got.Subscriptions[0] != (apiclient.Subscription{TemplateID: "tmplA", Status: "accept", Remaining: 1, Allowed: true}) ||
		got.Subscriptions[1] != (apiclient.Subscription{TemplateID: "tmplB", Status: "reject"}) {
		t.Fatalf("recorded %+v", got)
	}
	// The token in the body works as well as the header.
	r = f.do(t, "POST", "/api/v1/me/subscriptions", map[string]any{"token": tok, "tmplA": "accept"})
	want(t, r, 0, 200)
	_ = json.Unmarshal(r.Data, &got)
	if got.Subscriptions[0].Remaining != 2 {
		t.Fatalf("second accept: %+v", got)
	}
}

func TestSubscriptions_BadReportsRecordNothing(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "code-sub-bad")
	bearer := []string{"Authorization", "Bearer " + tok}
	for name, body := range map[string]any{
		"an unknown answer":    map[string]any{"tmplA": "accept", "tmplB": "maybe"},
		"not a string":         map[string]any{"tmplA": "accept", "tmplB": 1},
		"no template":          map[string]any{"errMsg": "requestSubscribeMessage:ok"},
		"a template twice":     `{"tmplA":"accept","tmplA":"accept"}`,
		"not an object":        `["tmplA"]`,
		"trailing junk":        `{"tmplA":"accept"} x`,
		"an empty template ID": map[string]any{"": "accept"},
	} {
		r := f.do(t, "POST", "/api/v1/me/subscriptions", body, append(bearer, "Content-Type", "application/json")...)
		if r.Code != 1 || r.HTTP != 400 {
			t.Errorf("%s: code %d HTTP %d (%s)", name, r.Code, r.HTTP, r.raw)
		}
	}
	c, err := f.app.Subscriptions.Get(t.Context(), appID, "o1", "tmplA")
	if err != nil || c.Status != "" {
		t.Fatalf("a refused report recorded %+v %v", c, err)
	}
	// No token: code 2, nothing recorded.
	want(t, f.do(t, "POST", "/api/v1/me/subscriptions", map[string]any{"tmplA": "accept"}), 2, 401)
}
