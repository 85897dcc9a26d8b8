package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"wxbackend/domain"
	"wxbackend/internal/sim/miniprogram"
	"wxbackend/internal/sim/sandbox"
)

// subscribeOptions are step subscribe's settings.
type subscribeOptions struct {
	sandbox, backend, internal, keyFile, appID, user, template string
}

// subscribeStep sends one subscribe message through the sandbox, the way a
// deployment does: the user accepts the popup (wx.requestSubscribeMessage),
// the page reports it to the backend, a team's service sends the message
// through the internal listener with its API key (POST /v1/messages), the
// backend's outbox sends it to WeChat, and WeChat's sent event reconciles
// it (GET /v1/messages/{id} says delivered).
func subscribeStep(ctx context.Context, out io.Writer, mp *miniprogram.MiniProgram, o subscribeOptions) (miniprogram.Envelope, error) {
	key, err := os.ReadFile(o.keyFile)
	if err != nil {
		return miniprogram.Envelope{}, fmt.Errorf("subscribe: the service's API key (scope messages): %w (make run writes one to bin/ when WXB_INTERNAL_KEYS_FILE is unset; or -messages-key-file)", err)
	}
	svc := &service{base: strings.TrimRight(o.internal, "/"), key: strings.TrimSpace(string(key))}

	fmt.Fprintf(out, "# wx.requestSubscribeMessage({tmplIds: [%q]}): the user taps “allow”\n", o.template)
	phone := sandbox.NewPhone(o.sandbox, nil)
	phone.AppID = o.appID
	answers := map[string]string{o.template: domain.SubscribeAccept}
	got, err := phone.RequestSubscribeMessage(ctx, o.user, answers, "")
	if err != nil {
		return miniprogram.Envelope{}, fmt.Errorf("subscribe: the sandbox: %w", err)
	}
	b, _ := json.Marshal(got)
	fmt.Fprintf(out, "success callback: %s\n\n", b)

	fmt.Fprintln(out, "# the page reports the answer to the backend (the consent ledger)")
	if e, err := mp.ReportSubscription(ctx, answers); err != nil || e.Code != 0 {
		return e, err
	}

	openID, err := openIDOf(ctx, phone, o.user)
	if err != nil {
		return miniprogram.Envelope{}, err
	}
	msg := map[string]any{"openid": openID, "template_id": o.template, "page": "pages/index/index",
		"idempotency_key": fmt.Sprintf("wxsim-%d", time.Now().UnixNano()),
		"data":            map[string]string{"thing1": "您的订单已发货", "number2": "42"}}
	if o.appID != "" {
		msg["appid"] = o.appID
	}
	fmt.Fprintf(out, "# your service sends a message on the internal listener, with its API key\n→ POST %s/v1/messages\n  Authorization: Bearer wxk_…\n", svc.base)
	var m struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		MsgID  string `json:"msgid"`
	}
	if e, err := svc.call(ctx, out, http.MethodPost, "/v1/messages", msg, &m); err != nil || e.Code != 0 {
		return e, err
	}
	path := fmt.Sprintf("/v1/messages/%d", m.ID)
	if o.appID != "" {
		path += "?appid=" + o.appID
	}
	fmt.Fprintln(out, "# the backend's outbox sends it to WeChat (cgi-bin/message/subscribe/send)")
	if err := svc.await(ctx, path, &m, domain.MessageSent, domain.MessageDelivered); err != nil {
		return miniprogram.Envelope{}, err
	}
	fmt.Fprintf(out, "message %d is %s: WeChat's msgid %s\n\n", m.ID, m.Status, m.MsgID)

	appID := o.appID
	if appID == "" {
		appID = sandbox.DefaultAppID
	}
	pushURL := strings.TrimRight(o.backend, "/") + "/wechat/push/" + appID
	fmt.Fprintf(out, "# WeChat pushes subscribe_msg_sent_event (the message reached the user) to %s\n", pushURL)
	var pushed struct{ Pushed []sandbox.SubscribePushed }
	if err := call(ctx, http.MethodPost, o.sandbox+"/sandbox/subscribe/push?appid="+appID, sandbox.SubscribePushRequest{AppID: appID, URL: pushURL}, &pushed); err != nil {
		if errors.Is(err, errNoPushToken) {
			fmt.Fprintln(out, "  skipped: the sandbox's app has no push token (make run sets one for its own app)")
			return miniprogram.Envelope{}, nil
		}
		return miniprogram.Envelope{}, err
	}
	for _, p := range pushed.Pushed {
		fmt.Fprintf(out, "← HTTP %d %q (msgid %d)\n", p.Status, p.Answer, p.MsgID)
	}
	fmt.Fprintf(out, "→ GET %s%s\n", svc.base, path)
	if err := svc.await(ctx, path, &m, domain.MessageDelivered); err != nil {
		return miniprogram.Envelope{}, err
	}
	fmt.Fprintf(out, "message %d is %s\n\n", m.ID, m.Status)
	return miniprogram.Envelope{}, nil
}

func openIDOf(ctx context.Context, phone *sandbox.Phone, user string) (string, error) {
	u, err := phone.User(ctx, user)
	if err != nil {
		return "", fmt.Errorf("subscribe: the sandbox: %w", err)
	}
	return u.OpenID, nil
}

// service is a team's service calling the internal listener with its key.
type service struct {
	base, key string
}

// call sends in (nil: no body) and decodes the envelope's data into out;
// with trace set, it prints the answer.
func (s *service) call(ctx context.Context, trace io.Writer, method, path string, in, out any) (miniprogram.Envelope, error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
		if trace != nil {
			fmt.Fprintf(trace, "  %s\n", b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return miniprogram.Envelope{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return miniprogram.Envelope{}, fmt.Errorf("the internal listener at %s: %w (WXB_INTERNAL_ADDR; -internal)", s.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e miniprogram.Envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("%s %s: HTTP %d, not an envelope", method, path, resp.StatusCode)
	}
	if trace != nil {
		fmt.Fprintf(trace, "← HTTP %d\n  %s\n\n", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if e.Code == 0 && out != nil {
		return e, json.Unmarshal(e.Data, out)
	}
	return e, nil
}

// await reads the message at path until its status is one of want.
func (s *service) await(ctx context.Context, path string, m any, want ...string) error {
	var last string
	for {
		var v struct {
			Status  string `json:"status"`
			ErrCode int    `json:"errcode"`
		}
		e, err := s.call(ctx, nil, http.MethodGet, path, nil, &v)
		if err != nil {
			return err
		}
		if e.Code != 0 {
			return fmt.Errorf("GET %s: code %d: %s", path, e.Code, e.Msg)
		}
		if err := json.Unmarshal(e.Data, m); err != nil {
			return err
		}
		for _, w := range want {
			if v.Status == w {
				return nil
			}
		}
		if v.Status == domain.MessageFailed {
			return fmt.Errorf("the message failed: WeChat's errcode %d", v.ErrCode)
		}
		last = v.Status
		select {
		case <-ctx.Done():
			return fmt.Errorf("the message is still %s: %w", last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
