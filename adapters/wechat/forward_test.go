package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/wechat"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

// sandboxClient is a client of a sandbox of its own app, with the
// sandbox's token in force.
func sandboxClient(t *testing.T, maxAnswer int64) (*wechat.Client, *sandbox.Sandbox, domain.AccessToken) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: secret})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	c, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: srv.URL, Timeout: 5 * time.Second, MaxAnswer: maxAnswer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	tok, _, err := c.StableToken(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return c, sb, tok
}

// An image passes byte for byte; WeChat's JSON error in its place is read
// for its errcode and passes too; a rejected token is also an error.
func TestForward_PassesImagesAndErrorsAsWeChatSentThem(t *testing.T) {
	c, sb, tok := sandboxClient(t, 0)
	ctx := context.Background()
	req := ports.APIRequest{Method: http.MethodPost, Path: "wxa/getwxacodeunlimit", ContentType: "application/json",
		Body: []byte(`{"scene":"a=1","page":"pages/x"}`)}
	resp, err := c.Forward(ctx, tok, req)
	if err != nil || resp.Status != 200 || resp.JSON || !bytes.Equal(resp.Body, sandbox.CodeImage("a=1", "pages/x", 0)) {
		t.Fatalf("image: %d json=%v %d bytes, %v", resp.Status, resp.JSON, len(resp.Body), err)
	}
	if ct := resp.Header["Content-Type"]; len(ct) != 1 || ct[0] != "image/png" {
		t.Fatalf("content type %v", ct)
	}
	req.Body = []byte(`{"scene":"` + strings.Repeat("s", 40) + `"}`)
	resp, err = c.Forward(ctx, tok, req)
	if err != nil || !resp.JSON || resp.Errcode != 40169 || !bytes.Contains(resp.Body, []byte(`"errcode":40169`)) {
		t.Fatalf("bad scene: %+v, %v", resp, err)
	}
	sb.InvalidateAccessToken()
	resp, err = c.Forward(ctx, tok, req)
	if !errors.Is(err, ports.ErrAccessTokenRejected) || resp.Errcode != 40001 || strings.Contains(err.Error(), tok.Reveal()) {
		t.Fatalf("rejected token: %+v, %v", resp, err)
	}
}

// The query goes as sent but for access_token, which is the app's only.
func TestForward_SendsTheAppsTokenOnly(t *testing.T) {
	c, sb, tok := sandboxClient(t, 0)
	_, err := c.Forward(context.Background(), tok, ports.APIRequest{Method: http.MethodPost, Path: "wxa/generate_urllink",
		RawQuery: "x=1&access_token=stolen&y=%2F", Body: []byte(`{}`)})
	q := sb.LastQuery("wxa/generate_urllink")
	if err != nil || len(q["access_token"]) != 1 || q.Get("access_token") != tok.Reveal() || q.Get("x") != "1" || q.Get("y") != "/" {
		t.Fatalf("the sandbox saw %v (%v)", q, err)
	}
}

// Redirects are answers (never followed to another host), hop-by-hop
// headers and Set-Cookie stay behind, and an answer over the bound is code 8.
func TestForward_RedirectsHeadersAndBounds(t *testing.T) {
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Clone()
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://evil.example/steal", http.StatusFound)
		case "/big":
			_, _ = io.WriteString(w, strings.Repeat("x", 2048))
		default:
			w.Header().Set("Set-Cookie", "a=b")
			w.Header().Set("Connection", "X-Hop")
			w.Header().Set("X-Hop", "1")
			w.Header().Set("X-Kept", "1")
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "brew")
		}
	}))
	t.Cleanup(srv.Close)
	c, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: srv.URL, Timeout: 5 * time.Second, MaxAnswer: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ctx, tok := context.Background(), domain.NewAccessToken("tok")
	resp, err := c.Forward(ctx, tok, ports.APIRequest{Method: http.MethodGet, Path: "redirect"})
	if err != nil || resp.Status != http.StatusFound || resp.Header["Location"][0] != "http://evil.example/steal" {
		t.Fatalf("redirect: %+v, %v", resp, err)
	}
	resp, err = c.Forward(ctx, tok, ports.APIRequest{Method: http.MethodPost, Path: "teapot", ContentType: "text/plain", Accept: "*/*", Body: []byte("x")})
	if err != nil || resp.Status != http.StatusTeapot || string(resp.Body) != "brew" || resp.Header["X-Kept"] == nil ||
		resp.Header["Set-Cookie"] != nil || resp.Header["X-Hop"] != nil || resp.Header["Connection"] != nil {
		t.Fatalf("teapot: %+v, %v", resp, err)
	}
	if gotHeader.Get("Content-Type") != "text/plain" || gotHeader.Get("Accept") != "*/*" {
		t.Fatalf("headers sent: %v", gotHeader)
	}
	if _, err = c.Forward(ctx, tok, ports.APIRequest{Method: http.MethodGet, Path: "big"}); domain.KindOf(err) != domain.KindUpstream {
		t.Fatalf("an answer over the bound: %v", err)
	}
}

// An answer that echoes the request (a redirect to the same URL, an error
// quoting its query) never hands the app's token to the caller: only
// wxbackend holds it.
func TestForward_AnAnswerNeverCarriesTheAppsToken(t *testing.T) {
	const token = "AppToken_0123456789-abcdefghijklmnop"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "got "+r.URL.RawQuery)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "https://api.weixin.qq.com/redirect?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/rejected" {
			_, _ = io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential `+r.URL.RawQuery+`"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":47001,"errmsg":"data format error hint: [`+r.URL.RawQuery+`] rid: 1"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, path := range []string{"redirect", "wxa/generate_urllink", "rejected"} {
		resp, err := c.Forward(context.Background(), domain.NewAccessToken(token), ports.APIRequest{Method: http.MethodGet, Path: path, RawQuery: "a=1"})
		if path == "rejected" {
			// the error goes to the log: it must not quote the token either
			if !errors.Is(err, ports.ErrAccessTokenRejected) || strings.Contains(err.Error(), token) {
				t.Errorf("rejected: %v", err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if bytes.Contains(resp.Body, []byte(token)) {
			t.Errorf("%s: the body holds the token: %s", path, resp.Body)
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				if strings.Contains(v, token) {
					t.Errorf("%s: header %s holds the token: %s", path, k, v)
				}
			}
		}
		if path == "wxa/generate_urllink" && (resp.Errcode != 47001 || !bytes.Contains(resp.Body, []byte("a=1&access_token="))) {
			t.Errorf("the rest of WeChat's answer should pass: %d %s", resp.Errcode, resp.Body)
		}
	}
}

// A call whose request was sent and whose answer never came (dropped, or
// timed out) is marked ErrAnswerLost: WeChat may have acted on it. One
// that never reached WeChat, or that was answered, is not.
func TestForward_AnAnswerLostAfterTheRequestIsMarked(t *testing.T) {
	c, sb, tok := sandboxClient(t, 0)
	ctx := context.Background()
	send := ports.APIRequest{Method: http.MethodPost, Path: "cgi-bin/message/subscribe/send", ContentType: "application/json",
		Body: []byte(`{"touser":"oUser","template_id":"t","data":{}}`)}
	if err := sb.Subscribe("oUser", map[string]string{"t": "accept"}); err != nil {
		t.Fatal(err)
	}
	sb.InjectAPIFault(send.Path, sandbox.Fault{Lost: true, Reset: true})
	if _, err := c.Forward(ctx, tok, send); !errors.Is(err, ports.ErrAnswerLost) || domain.KindOf(err) != domain.KindUpstream {
		t.Fatalf("dropped after the send: %v", err)
	}
	sb.InjectAPIFault(send.Path, sandbox.Fault{Lost: true})
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Forward(short, tok, send); !errors.Is(err, ports.ErrAnswerLost) {
		t.Fatalf("timed out after the send: %v", err)
	}
	if st := sb.SubscribeStats(); st.Sent != 1 || st.Refused != 1 {
		t.Fatalf("the sandbox saw %+v (the second had no allowance left)", st)
	}
	if _, err := c.Forward(ctx, tok, send); err != nil {
		t.Fatalf("answered (43101): %v", err)
	}
	nowhere, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nowhere.Close)
	if _, err := nowhere.Forward(ctx, tok, send); err == nil || errors.Is(err, ports.ErrAnswerLost) {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestForward_AFailedCallIsLabelledWithItsPath(t *testing.T) {
	nowhere, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nowhere.Close)
	tok := domain.NewAccessToken("tok-" + secret)
	_, err = nowhere.Forward(context.Background(), tok, ports.APIRequest{Method: http.MethodPost, Path: "cgi-bin/message/subscribe/send"})
	if err == nil || !strings.Contains(err.Error(), "cgi-bin/message/subscribe/send: Post: ") || strings.Contains(err.Error(), "jscode2session") {
		t.Fatalf("error %q: want it labelled with the path called only", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "access_token") {
		t.Fatalf("error %q shows the URL", err)
	}
}
