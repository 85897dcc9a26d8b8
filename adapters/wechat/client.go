// Package wechat talks to WeChat's server API over HTTP.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// DefaultBaseURL is WeChat's API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Options configure a Client.
type Options struct {
	AppID   string
	Secret  string
	BaseURL string        // WeChat's API, or a stand-in such as the sandbox
	Timeout time.Duration // for a whole exchange, connecting included
}

// Client implements ports.WeChat over HTTP.
type Client struct {
	appID    string
	secret   string
	endpoint string
	http     *http.Client
}

// NewClient returns a client with its own pooled, keep-alive transport.
func NewClient(o Options) (*Client, error) {
	if o.AppID == "" || o.Secret == "" {
		return nil, errors.New("wechat: app id and secret are required")
	}
	base, err := url.Parse(o.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("wechat: base URL %q is not an http(s) URL", o.BaseURL)
	}
	if o.Timeout <= 0 {
		return nil, errors.New("wechat: timeout must be positive")
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &Client{
		appID:    o.AppID,
		secret:   o.Secret,
		endpoint: strings.TrimRight(o.BaseURL, "/") + "/sns/jscode2session",
		http:     &http.Client{Transport: transport, Timeout: o.Timeout},
	}, nil
}

// AppID implements ports.WeChat.
func (c *Client) AppID() string { return c.appID }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// code2SessionReply is jscode2session's answer.
type code2SessionReply struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// maxReply bounds what is read of an answer; WeChat's are a few hundred bytes.
const maxReply = 64 << 10

// Code2Session implements ports.WeChat.
func (c *Client) Code2Session(ctx context.Context, code string) (ports.WeChatSession, error) {
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return ports.WeChatSession{}, domain.Wrap(domain.KindInternal, fmt.Errorf("jscode2session: %w", redact(err)))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return ports.WeChatSession{}, transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return ports.WeChatSession{}, transportError(err)
	}
	if resp.StatusCode != http.StatusOK {
		return ports.WeChatSession{}, domain.Wrap(domain.KindUpstream, fmt.Errorf("jscode2session: HTTP %d", resp.StatusCode))
	}
	// WeChat answers JSON with a text/plain content type: read the body whatever it says.
	var r code2SessionReply
	if err := json.Unmarshal(body, &r); err != nil {
		return ports.WeChatSession{}, domain.Wrap(domain.KindUpstream, fmt.Errorf("jscode2session: answer is not JSON: %w", err))
	}
	if r.ErrCode != 0 {
		return ports.WeChatSession{}, errcodeError(r.ErrCode, r.ErrMsg)
	}
	key, err := domain.ParseSessionKey(r.SessionKey)
	if err != nil {
		return ports.WeChatSession{}, err
	}
	return ports.WeChatSession{OpenID: r.OpenID, UnionID: r.UnionID, SessionKey: key}, nil
}

// errcodeError maps WeChat's errcodes to the core's kinds. errmsg is WeChat's
// text and holds no secret; it goes to the log as the cause.
func errcodeError(code int, msg string) error {
	cause := fmt.Errorf("jscode2session: errcode %d: %s", code, msg)
	switch code {
	case 40029, 40163, 40226: // invalid code, code been used, high-risk user
		return domain.Wrap(domain.KindBadCode, cause)
	case 45011: // API minute-quota reached
		return domain.Wrap(domain.KindRateLimited, cause)
	default: // -1 busy, 40013 invalid appid, 40125 invalid secret, …
		return domain.Wrap(domain.KindUpstream, cause)
	}
}

// transportError classifies a failed exchange; a timeout is told apart so the
// client can get 504.
func transportError(err error) error {
	err = fmt.Errorf("jscode2session: %w", redact(err))
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return domain.Wrap(domain.KindUpstreamTimeout, err)
	}
	return domain.Wrap(domain.KindUpstream, err)
}

// redact drops the request URL, which carries the app secret, from an error
// of net/http.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
