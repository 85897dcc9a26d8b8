package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/wechat"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// The client submits images to the sandbox's wxa/media_check_async and gets
// trace_ids; the sandbox pushes each result once it is due on its clock,
// with the outcome chosen beforehand, and never a silent one's; every
// pushed event reads back (domain.ParseMediaCheck) as the verdict chosen
// for its trace_id.
func TestMediaCheckAsync_AgainstTheSandbox(t *testing.T) {
	const token, key = "tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: secret, Now: clock, Push: sandbox.PushApp{AppID: appID, Token: token, EncodingAESKey: key}})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	c, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	tok, _, err := c.StableToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}

	var got []domain.MediaCheck
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f, _ := domain.ReadPushBody(body, domain.PushXML)
		k, _ := domain.ParsePushKey(key)
		msg, _, err := domain.DecryptPush(k, f.Encrypt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		fields, _ := domain.ReadPushBody(msg, domain.PushXML)
		e, err := domain.ParsePush(appID, fields.Fields, clock())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mc, err := domain.ParseMediaCheck(e)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, mc) // the sandbox pushes one at a time
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(receiver.Close)

	want := map[string]domain.Verdict{}
	for _, outcome := range []string{sandbox.MediaRisky, sandbox.MediaReview, sandbox.MediaSilent, ""} {
		if outcome != "" {
			sb.NextMediaCheck(outcome)
		}
		id, err := c.MediaCheckAsync(ctx, tok, "oUser", "https://avatars.example.com/a/x.jpg")
		if err != nil || id == "" {
			t.Fatalf("submit: %q, %v", id, err)
		}
		switch outcome {
		case "":
			want[id] = domain.VerdictPass
		case sandbox.MediaSilent:
		default:
			want[id] = domain.Verdict(outcome)
		}
	}
	push := func() int {
		t.Helper()
		b, _ := json.Marshal(sandbox.MediaCheckPushRequest{URL: receiver.URL})
		resp, err := http.Post(srv.URL+"/sandbox/media_check/push", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct{ Pushed []sandbox.MediaCheckPushed }
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return len(res.Pushed)
	}
	if n := push(); n != 0 {
		t.Fatalf("%d results pushed before they are due", n)
	}
	mu.Lock()
	now = now.Add(sandbox.MediaCheckDelay)
	mu.Unlock()
	if n := push(); n != 3 || len(got) != 3 {
		t.Fatalf("%d pushed, %d received, want 3 (the silent check never)", n, len(got))
	}
	for _, mc := range got {
		if v, ok := want[mc.TraceID]; !ok || v != mc.Verdict {
			t.Errorf("pushed %+v, want %q for it (known: %v)", mc, v, ok)
		}
	}
	if n := push(); n != 0 {
		t.Errorf("%d results pushed twice", n)
	}

	if _, err := c.MediaCheckAsync(ctx, tok, "", "https://avatars.example.com/a/x.jpg"); err == nil {
		t.Errorf("a check without an openid: %v, want WeChat's 47001 as an error", err)
	}
}
