package wechat_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/testenv"
	"wxbackend/adapters/wechat"
	"wxbackend/domain"
)

const (
	appID  = "wx4f4bc4dec97d474b"
	secret = "s3cr3t-app-secret-0123456789abcdef"
)

// wechatServer answers jscode2session as WeChat does: JSON under a text/plain
// content type, errors as errcode/errmsg with HTTP 200.
func wechatServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sns/jscode2session" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if q.Get("appid") != appID || q.Get("secret") != secret || q.Get("grant_type") != "authorization_code" {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func client(t *testing.T, base string, timeout time.Duration) *wechat.Client {
	t.Helper()
	c, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: base, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCode2Session_ReadsJSONSentAsTextPlain(t *testing.T) {
	base := wechatServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("js_code") != "081Kq4Ga1" {
			t.Errorf("js_code %q", r.URL.Query().Get("js_code"))
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `{"session_key":"tiihtNczf5v6AKRyjwEUhQ==","openid":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","unionid":"ocMvos6"}`)
	})
	s, err := client(t, base, time.Second).Code2Session(context.Background(), "081Kq4Ga1")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != "oGZUI0egBJY1zhBYw2KhdUfwVJJE" || s.UnionID != "ocMvos6" || s.SessionKey.Base64() != "tiihtNczf5v6AKRyjwEUhQ==" {
		t.Fatalf("got %+v", s)
	}
}

func TestCode2Session_MapsErrcodes(t *testing.T) {
	cases := []struct {
		errcode int
		kind    domain.Kind
	}{
		{40029, domain.KindBadCode},
		{40163, domain.KindBadCode},
		{40226, domain.KindBadCode},
		{45011, domain.KindRateLimited},
		{-1, domain.KindUpstream},
		{40013, domain.KindUpstream},
		{40125, domain.KindUpstream},
	}
	for _, c := range cases {
		base := wechatServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":"some text, rid: 1"}`, c.errcode)
		})
		_, err := client(t, base, time.Second).Code2Session(context.Background(), "code")
		if domain.KindOf(err) != c.kind {
			t.Errorf("errcode %d: %v, want kind %v", c.errcode, err, c.kind)
		}
	}
}

func TestCode2Session_Failures(t *testing.T) {
	cases := map[string]struct {
		answer func(w http.ResponseWriter, r *http.Request)
		kind   domain.Kind
	}{
		"HTTP 502": {func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) }, domain.KindUpstream},
		"garbage":  {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>oops</html>") }, domain.KindUpstream},
		"bad session key": {func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"session_key":"short","openid":"o"}`)
		}, domain.KindUpstream},
		"hangs": {func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, domain.KindUpstreamTimeout},
		"connection reset": {func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		}, domain.KindUpstream},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			base := wechatServer(t, c.answer)
			start := time.Now()
			_, err := client(t, base, 200*time.Millisecond).Code2Session(context.Background(), "code")
			if domain.KindOf(err) != c.kind {
				t.Fatalf("%v, want kind %v", err, c.kind)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the app secret: %v", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %v with a 200ms timeout", time.Since(start))
			}
		})
	}
}

func TestCode2Session_UnreachableHidesTheSecret(t *testing.T) {
	addr := testenv.HangUp(t) // a server that hangs up on every connection
	_, err := client(t, "http://"+addr, time.Second).Code2Session(context.Background(), "code")
	if domain.KindOf(err) != domain.KindUpstream {
		t.Fatalf("%v, want upstream", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "secret=") {
		t.Fatalf("the error shows the request URL: %v", err)
	}
}

func TestNewClient_ChecksOptions(t *testing.T) {
	for name, o := range map[string]wechat.Options{
		"no app id":    {Secret: secret, BaseURL: "http://x", Timeout: time.Second},
		"no secret":    {AppID: appID, BaseURL: "http://x", Timeout: time.Second},
		"bad base URL": {AppID: appID, Secret: secret, BaseURL: "ftp://x", Timeout: time.Second},
		"no timeout":   {AppID: appID, Secret: secret, BaseURL: "http://x"},
	} {
		if _, err := wechat.NewClient(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
