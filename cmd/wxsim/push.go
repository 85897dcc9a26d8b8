package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"wxbackend/internal/sim/sandbox"
)

// pushStep is WeChat's message push end to end: the sandbox pushes a media
// check's result to the backend, as WeChat does (signed, encrypted), and the
// backend, once it has stored it and answered success, delivers it to the
// webhook (the sandbox's own, under make run), where this waits for it.
func pushStep(ctx context.Context, out io.Writer, sbURL, backend, appID, openID string) error {
	if appID == "" {
		appID = sandbox.DefaultAppID
	}
	trace := fmt.Sprintf("wxsim-%d", time.Now().UnixNano())
	req := sandbox.PushRequest{AppID: appID, URL: strings.TrimRight(backend, "/") + "/wechat/push/" + appID,
		Event: map[string]any{"ToUserName": "gh_sandbox", "FromUserName": openID, "CreateTime": time.Now().Unix(),
			"MsgType": "event", "Event": "wxa_media_check", "appid": appID, "trace_id": trace, "version": 2,
			"result": map[string]any{"suggest": "pass", "label": 100}}}
	fmt.Fprintf(out, "# WeChat pushes a wxa_media_check result (safe mode, encrypted) to %s\n", req.URL)
	var res sandbox.PushResult
	if err := call(ctx, http.MethodPost, sbURL+"/sandbox/push", req, &res); err != nil {
		if errors.Is(err, errNoPushToken) { // make run with an apps file sets up no push
			fmt.Fprintln(out, "  skipped: the sandbox's app has no push token (make run sets one for its own app; in an apps file,"+
				" give the app push_token, push_encoding_aes_key, webhook_url and webhook_secret)")
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "← HTTP %d %q\n\n", res.Status, res.Answer)
	if res.Status != http.StatusOK || res.Answer != "success" {
		return fmt.Errorf("push: the backend answered %d %q (is it running with a push token? make run sets one)", res.Status, res.Answer)
	}
	fmt.Fprintln(out, "# the backend delivers it to the webhook (the sandbox's), signed")
	for {
		var got struct {
			Deliveries []struct {
				InboxID int64           `json:"inbox_id"`
				Event   string          `json:"event"`
				Payload json.RawMessage `json:"payload"`
			} `json:"deliveries"`
		}
		if err := call(ctx, http.MethodGet, sbURL+"/sandbox/webhook?appid="+appID, nil, &got); err != nil {
			return err
		}
		for _, d := range got.Deliveries {
			if bytes.Contains(d.Payload, []byte(trace)) {
				fmt.Fprintf(out, "delivered: event %d, %s, payload %s\n", d.InboxID, d.Event, cut(string(d.Payload)))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("push: event %s not delivered to the webhook: %w", trace, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errNoPushToken is the sandbox's answer for an app without push settings.
var errNoPushToken = errors.New("the sandbox's app has no push token")

// call sends JSON to the sandbox and decodes its JSON answer.
func call(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusConflict {
		return errNoPushToken
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}
