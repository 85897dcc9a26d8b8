package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"wxbackend/adapters/webhook"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// TestPush_SandboxPushesAsWeChatAndChecksWhatItIsDelivered: POST
// /sandbox/push sends a safe-mode push whose msg_signature and ciphertext
// open with the app's settings; POST /sandbox/webhook keeps deliveries
// signed with the webhook secret and refuses others.
func TestPush_SandboxPushesAsWeChatAndChecksWhatItIsDelivered(t *testing.T) {
	const token, key = "tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sb := sandbox.New(sandbox.Options{Push: sandbox.PushApp{Token: token, EncodingAESKey: key}, WebhookSecret: "hook"})
	var opened []byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		f, _ := domain.ReadPushBody(body, domain.PushXML)
		k, _ := domain.ParsePushKey(key)
		msg, appID, err := domain.DecryptPush(k, f.Encrypt)
		if q.Get("encrypt_type") != "aes" || !domain.PushSignatureValid(q.Get("msg_signature"), token, q.Get("timestamp"), q.Get("nonce"), f.Encrypt) ||
			err != nil || appID != sandbox.DefaultAppID {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		opened = msg
		_, _ = io.WriteString(w, "success")
	}))
	defer receiver.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	req, _ := json.Marshal(sandbox.PushRequest{URL: receiver.URL, Event: map[string]any{"MsgType": "event", "Event": "x", "CreateTime": 1700000000}})
	resp, err := http.Post(srv.URL+"/sandbox/push", "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var res sandbox.PushResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if res.Status != 200 || res.Answer != "success" || !bytes.Contains(opened, []byte("<CreateTime>1700000000</CreateTime>")) {
		t.Fatalf("pushed: %+v, opened %s", res, opened)
	}

	deliver := func(secret string) int {
		body := []byte(`{"appid":"` + sandbox.DefaultAppID + `","event":"x"}`)
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/sandbox/webhook", bytes.NewReader(body))
		r.Header.Set("X-WXB-Timestamp", "1700000000")
		r.Header.Set("X-WXB-Signature", webhook.Sign(secret, "1700000000", body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if deliver("hook") != http.StatusNoContent || deliver("wrong") != http.StatusUnauthorized {
		t.Fatal("the webhook does not check signatures")
	}
	resp, err = http.Get(srv.URL + "/sandbox/webhook")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Deliveries    []json.RawMessage
		BadSignatures int
	}
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Deliveries) != 1 || got.BadSignatures != 1 {
		t.Fatalf("webhook kept %+v", got)
	}
}
