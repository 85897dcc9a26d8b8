package sandbox_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/internal/sim/sandbox"
)

// The server APIs of issue 25 answer as WeChat does, with the token the
// sandbox issued only; the control face invalidates it, and calls are
// counted per path.
func TestSandbox_ServerAPIsForOtherServices(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	post := func(path, body string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	_, b := post("/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"`+sandbox.DefaultAppID+`","secret":"`+sandbox.DefaultAppSecret+`"}`)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("stable_token: %s", b)
	}
	q := "?access_token=" + tok.AccessToken

	resp, img := post("/wxa/getwxacodeunlimit"+q, `{"scene":"id=1","page":"pages/a","width":300}`)
	if resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(img, sandbox.CodeImage("id=1", "pages/a", 300)) {
		t.Fatalf("code: %s %d bytes", resp.Header.Get("Content-Type"), len(img))
	}
	if p, err := png.Decode(bytes.NewReader(img)); err != nil || p.Bounds().Dx() != 300 {
		t.Fatalf("not a 300-pixel PNG: %v", err)
	}
	if bytes.Equal(img, sandbox.CodeImage("id=2", "pages/a", 300)) {
		t.Fatal("two scenes, one image")
	}
	for body, want := range map[string]string{
		`{"scene":"` + strings.Repeat("x", 33) + `"}`: `"errcode":40169`,
		`{"page":"p"}`: `"errcode":40169`,
	} {
		if resp, b := post("/wxa/getwxacodeunlimit"+q, body); !strings.Contains(resp.Header.Get("Content-Type"), "json") || !strings.Contains(string(b), want) {
			t.Errorf("%s: %s", body, b)
		}
	}
	if err := sb.Subscribe("o1", map[string]string{"t": "accept"}); err != nil {
		t.Fatal(err)
	}
	if _, b := post("/cgi-bin/message/subscribe/send"+q, `{"touser":"o1","template_id":"t"}`); !strings.Contains(string(b), `"msgid":9007199254740993`) {
		t.Errorf("subscribe/send: %s", b)
	}
	if _, b := post("/cgi-bin/message/subscribe/send"+q, `{"template_id":"t"}`); !strings.Contains(string(b), `"errcode":40003`) {
		t.Errorf("subscribe/send without touser: %s", b)
	}
	_, l1 := post("/wxa/generate_urllink"+q, `{"path":"p"}`)
	_, l2 := post("/wxa/generate_urllink"+q, `{"path":"p"}`)
	if !bytes.Contains(l1, []byte(`"url_link":"https://wxaurl.cn/`)) || !bytes.Equal(l1, l2) {
		t.Errorf("urllink: %s, %s", l1, l2)
	}
	if _, b := post("/sandbox/access_token/invalidate", ``); !strings.Contains(string(b), "invalidate:ok") {
		t.Fatalf("invalidate: %s", b)
	}
	if _, b := post("/wxa/generate_urllink"+q, `{}`); !strings.Contains(string(b), `"errcode":40001`) {
		t.Errorf("an invalidated token: %s", b)
	}
	if calls := sb.APICalls(); calls["wxa/generate_urllink"] != 3 || calls["wxa/getwxacodeunlimit"] != 3 || calls["sandbox/access_token/invalidate"] != 0 {
		t.Errorf("calls %v", calls)
	}
	if c := sb.Counters(); c.Rejected != 1 {
		t.Errorf("rejections %d", c.Rejected)
	}
	if got := sb.LastQuery("wxa/generate_urllink").Get("access_token"); got != tok.AccessToken {
		t.Errorf("last query's token %q", got)
	}
}
