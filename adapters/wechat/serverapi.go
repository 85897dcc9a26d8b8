package wechat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// apiReply is what every server-API answer carries besides its data.
type apiReply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// call sends one server-API request: body (when not nil) as JSON, the
// access token (when set) in the query as WeChat wants it, and reads the
// answer into out. The URL, which carries the token, never reaches an error.
func (c *Client) call(ctx context.Context, method, api string, token domain.AccessToken, q url.Values, body, out any) error {
	if q == nil {
		q = url.Values{}
	}
	if !token.IsZero() {
		q.Set("access_token", token.Reveal())
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return domain.Wrap(domain.KindInternal, fmt.Errorf("%s: %w", api, err))
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + "/" + api
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return domain.Wrap(domain.KindInternal, fmt.Errorf("%s: %w", api, redact(err)))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(api, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return transportError(api, err)
	}
	if resp.StatusCode != http.StatusOK {
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("%s: HTTP %d", api, resp.StatusCode))
	}
	var r apiReply
	if err := json.Unmarshal(raw, &r); err != nil {
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("%s: answer is not JSON: %w", api, err))
	}
	if r.ErrCode != 0 {
		return apiErrcode(api, r.ErrCode, r.ErrMsg)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return domain.Wrap(domain.KindUpstream, fmt.Errorf("%s: answer has another shape: %w", api, err))
		}
	}
	return nil
}

// Errcode is an answer of WeChat's with a non-zero errcode.
type Errcode struct {
	API  string
	Code int
	Msg  string
}

func (e *Errcode) Error() string { return fmt.Sprintf("%s: errcode %d: %s", e.API, e.Code, e.Msg) }

// WeChatErrcode returns the errcode, for whoever counts them (metrics)
// without importing this package.
func (e *Errcode) WeChatErrcode() int { return e.Code }

// apiErrcode maps a server-API errcode to the core's kinds. The errcode and
// WeChat's errmsg (which holds no secret) go to the log as the cause.
func apiErrcode(api string, code int, msg string) error {
	var cause error = &Errcode{API: api, Code: code, Msg: msg}
	switch code {
	case 40001, 40014, 42001: // invalid credential, invalid access_token, access_token expired
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("%w (%w)", cause, ports.ErrAccessTokenRejected))
	case 40029, 40163: // invalid code, code been used
		return domain.Wrap(domain.KindBadCode, cause)
	case 45011: // minute quota
		return domain.Wrap(domain.KindRateLimited, cause)
	default: // -1 busy, 45009 daily quota, 40013 invalid appid, 40125 invalid secret, …
		return domain.Wrap(domain.KindUpstream, cause)
	}
}

// StableToken implements ports.WeChat with cgi-bin/stable_token. The secret
// travels in the JSON body, not in a URL.
func (c *Client) StableToken(ctx context.Context, force bool) (domain.AccessToken, time.Duration, error) {
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	body := map[string]any{"grant_type": "client_credential", "appid": c.appID, "secret": c.secret, "force_refresh": force}
	if err := c.call(ctx, http.MethodPost, "cgi-bin/stable_token", domain.AccessToken{}, nil, body, &r); err != nil {
		return domain.AccessToken{}, 0, err
	}
	if r.AccessToken == "" || r.ExpiresIn <= 0 {
		return domain.AccessToken{}, 0, domain.Wrap(domain.KindUpstream, fmt.Errorf("stable_token: answer without a token"))
	}
	return domain.NewAccessToken(r.AccessToken), time.Duration(r.ExpiresIn) * time.Second, nil
}

// PhoneNumber implements ports.WeChat with wxa/business/getuserphonenumber.
func (c *Client) PhoneNumber(ctx context.Context, token domain.AccessToken, code string) (domain.PhoneInfo, error) {
	var r struct {
		PhoneInfo struct {
			PhoneNumber     string           `json:"phoneNumber"`
			PurePhoneNumber string           `json:"purePhoneNumber"`
			CountryCode     json.RawMessage  `json:"countryCode"` // a string, or a number in some answers
			Watermark       domain.Watermark `json:"watermark"`
		} `json:"phone_info"`
	}
	if err := c.call(ctx, http.MethodPost, "wxa/business/getuserphonenumber", token, nil, map[string]string{"code": code}, &r); err != nil {
		return domain.PhoneInfo{}, err
	}
	p := r.PhoneInfo
	cc := string(bytes.Trim(p.CountryCode, `"`))
	return domain.PhoneInfo{Phone: domain.Phone{Number: p.PhoneNumber, PureNumber: p.PurePhoneNumber, CountryCode: cc},
		Watermark: p.Watermark}, nil
}

// SessionSignature is checksession's signature of a session key: the hex
// HMAC-SHA256 of the empty string, keyed by the key's text exactly as
// jscode2session returned it (base64 and all).
func SessionSignature(key domain.SessionKey) string {
	mac := hmac.New(sha256.New, []byte(key.Base64()))
	return hex.EncodeToString(mac.Sum(nil))
}

// CheckSession implements ports.WeChat with wxa/checksession. WeChat answers
// 87009 (invalid signature) for a key it no longer holds.
func (c *Client) CheckSession(ctx context.Context, token domain.AccessToken, openID string, key domain.SessionKey) (bool, error) {
	q := url.Values{"openid": {openID}, "signature": {SessionSignature(key)}, "sig_method": {"hmac_sha256"}}
	err := c.call(ctx, http.MethodGet, "wxa/checksession", token, q, nil, nil)
	var ec *Errcode
	if errors.As(err, &ec) && ec.Code == 87009 {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// CheckText implements ports.WeChat with wxa/msg_sec_check, version 2.
func (c *Client) CheckText(ctx context.Context, token domain.AccessToken, openID, text string) (domain.Verdict, error) {
	var r struct {
		Result struct {
			Suggest string `json:"suggest"`
		} `json:"result"`
	}
	body := map[string]any{"content": text, "version": 2, "scene": 1, "openid": openID}
	if err := c.call(ctx, http.MethodPost, "wxa/msg_sec_check", token, nil, body, &r); err != nil {
		return "", err
	}
	switch v := domain.Verdict(r.Result.Suggest); v {
	case domain.VerdictPass, domain.VerdictReview, domain.VerdictRisky:
		return v, nil
	default:
		return "", domain.Wrap(domain.KindUpstream, fmt.Errorf("msg_sec_check: suggest %q", r.Result.Suggest))
	}
}

// MediaCheckAsync implements ports.WeChat with wxa/media_check_async,
// version 2, scene 1, media_type 2 (an image).
func (c *Client) MediaCheckAsync(ctx context.Context, token domain.AccessToken, openID, mediaURL string) (string, error) {
	var r struct {
		TraceID string `json:"trace_id"`
	}
	body := map[string]any{"media_url": mediaURL, "media_type": 2, "version": 2, "scene": 1, "openid": openID}
	if err := c.call(ctx, http.MethodPost, "wxa/media_check_async", token, nil, body, &r); err != nil {
		return "", err
	}
	if r.TraceID == "" || len(r.TraceID) > domain.MaxPushKeyLen {
		return "", domain.Wrap(domain.KindUpstream, fmt.Errorf("media_check_async: trace_id of %d bytes", len(r.TraceID)))
	}
	return r.TraceID, nil
}
