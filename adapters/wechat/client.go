// Package wechat talks to WeChat's server API over HTTP.
package wechat

import (
	"cmp"
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

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

var _ ports.WeChat = (*Client)(nil)

// DefaultBaseURL is WeChat's API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Options configure a Client; each tagged field is a setting (see
// config/setting).
type Options struct {
	AppID   string         `setting:"wechat-app-id" usage:"the mini-program's appid (required unless WXB_APPS_FILE lists the apps)"`
	Secret  setting.Secret `setting:"wechat-app-secret" usage:"the mini-program's app secret (required unless WXB_APPS_FILE lists the apps); never printed"`
	BaseURL string         `setting:"wechat-base-url" default:"https://api.weixin.qq.com" usage:"WeChat API base URL (https, or http on loopback only: the secret travels in the query string)"`
	Timeout time.Duration  `setting:"wechat-timeout" default:"5s" usage:"timeout of a whole call to WeChat, connecting included (then code 8)"`
	// MaxAnswer bounds an answer of WeChat's passed on to another service
	// (Forward): a mini-program code is a few hundred KiB.
	MaxAnswer int64 `setting:"wechat-max-answer" default:"8388608" usage:"most bytes of a WeChat answer passed on to your services (openapi), then code 8"`
}

// Check implements setting.Checker. The appid and secret are checked where
// it is known whether the real WeChat is used (config).
func (o *Options) Check(p *setting.Problems) {
	if err := checkBaseURL(o.BaseURL); err != nil {
		p.Add(&o.BaseURL, "%q %v", o.BaseURL, err)
	}
	p.Positive(&o.Timeout)
	p.NotNegative(&o.MaxAnswer)
}

// checkBaseURL admits https, and http only to a loopback host: the app
// secret travels in jscode2session's query string.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http(s) URL")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("is plain http to a host that is not loopback: the app secret would cross the network in clear")
		}
	}
	return nil
}

// Client implements ports.WeChat over HTTP.
type Client struct {
	appID    string
	secret   string
	base     string // the API's base URL, without a trailing slash
	endpoint string
	http     *http.Client
	// forward is http without redirects followed: a forwarded call's
	// answer, 3xx included, goes back as it is, and no request leaves
	// for another host.
	forward   *http.Client
	maxAnswer int64
}

// NewClient returns a client with its own pooled, keep-alive transport.
func NewClient(o Options) (*Client, error) {
	if o.AppID == "" || o.Secret == "" {
		return nil, errors.New("wechat: app id and secret are required")
	}
	if err := checkBaseURL(o.BaseURL); err != nil {
		return nil, fmt.Errorf("wechat: base URL %q %v", o.BaseURL, err)
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
		secret:   o.Secret.Reveal(),
		base:     strings.TrimRight(o.BaseURL, "/"),
		endpoint: strings.TrimRight(o.BaseURL, "/") + "/sns/jscode2session",
		http:     &http.Client{Transport: transport, Timeout: o.Timeout},
		forward: &http.Client{Transport: transport, Timeout: o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		maxAnswer: cmp.Or(o.MaxAnswer, 8<<20),
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
		return ports.WeChatSession{}, transportError("jscode2session", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return ports.WeChatSession{}, transportError("jscode2session", err)
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
	var cause error = &Errcode{API: "jscode2session", Code: code, Msg: msg}
	switch code {
	case 40029, 40163, 40226: // invalid code, code been used, high-risk user
		return domain.Wrap(domain.KindBadCode, cause)
	case 45011: // API minute-quota reached
		return domain.Wrap(domain.KindRateLimited, cause)
	default: // -1 busy, 40013 invalid appid, 40125 invalid secret, …
		return domain.Wrap(domain.KindUpstream, cause)
	}
}

// transportError classifies a failed exchange with api (the path called,
// its label in the error); a timeout is told apart so the client can get 504.
func transportError(api string, err error) error {
	err = fmt.Errorf("%s: %w", api, redact(err))
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
