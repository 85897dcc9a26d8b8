// Package miniprogram simulates a mini-program's client flow against a
// backend: wx.login then POST the code, wx.getUserInfo then POST the encrypted
// data with the token, read the profile back, log out. WeChat's side comes from
// the sandbox (in process or over HTTP). It is used by cmd/wxsim, the
// end-to-end tests and the load generator.
package miniprogram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxbackend/adapters/wechat/sandbox"
)

// Options configure a MiniProgram.
type Options struct {
	Backend string     // the backend's base URL, e.g. http://127.0.0.1:8080
	WX      sandbox.WX // WeChat on the phone
	User    string     // the sandbox user this phone belongs to
	// Classic uses the tutorial's routes and field names (/login/,
	// /getinfo/, encrypedData, token in the body) instead of /api/v1.
	Classic bool
	// Form sends application/x-www-form-urlencoded bodies instead of JSON.
	Form  bool
	HTTP  *http.Client // default http.DefaultClient
	Trace func(Step)   // called after each request, when set
}

// Envelope is the backend's answer.
type Envelope struct {
	Code   int             `json:"code"`
	Status int             `json:"status"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
}

// Step is one request and its answer, secrets shortened: the token shows its
// first characters only.
type Step struct {
	Name       string
	Method     string
	URL        string
	Header     string // the Authorization header, shortened, if sent
	Body       string
	HTTPStatus int
	Answer     string
	Envelope   Envelope
	Took       time.Duration
}

// MiniProgram is one user's mini-program on one phone.
type MiniProgram struct {
	o     Options
	token string
}

// New returns a mini-program that has not logged in.
func New(o Options) *MiniProgram {
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	o.Backend = strings.TrimRight(o.Backend, "/")
	return &MiniProgram{o: o}
}

// Token returns the token of the last successful login ("" before).
func (m *MiniProgram) Token() string { return m.token }

// SetToken replaces the stored token (to replay an old one, for instance).
func (m *MiniProgram) SetToken(t string) { m.token = t }

// Login calls wx.login and sends the code to the backend, keeping the token.
func (m *MiniProgram) Login(ctx context.Context) (Envelope, error) {
	code, err := m.o.WX.Login(ctx, m.o.User)
	if err != nil {
		return Envelope{}, fmt.Errorf("wx.login: %w", err)
	}
	return m.SendCode(ctx, code)
}

// SendCode sends a login code to the backend, keeping the token it returns.
func (m *MiniProgram) SendCode(ctx context.Context, code string) (Envelope, error) {
	path := "/api/v1/login"
	if m.o.Classic {
		path = "/login/"
	}
	e, err := m.post(ctx, "login", path, [][2]string{{"code", code}}, false)
	if err != nil || e.Code != 0 {
		return e, err
	}
	var d struct{ Token string }
	if err := json.Unmarshal(e.Data, &d); err != nil || d.Token == "" {
		return e, fmt.Errorf("login: answer has no token: %s", e.Data)
	}
	m.token = d.Token
	return e, nil
}

// UploadUserInfo calls wx.getUserInfo and sends the encrypted data with the
// token; the tutorial's way (token in the body) or v1's (Authorization header,
// rawData and signature too).
func (m *MiniProgram) UploadUserInfo(ctx context.Context) (Envelope, error) {
	info, err := m.o.WX.GetUserInfo(ctx, m.o.User)
	if err != nil {
		return Envelope{}, fmt.Errorf("wx.getUserInfo: %w", err)
	}
	return m.SendUserInfo(ctx, info)
}

// SendUserInfo sends what wx.getUserInfo returned.
func (m *MiniProgram) SendUserInfo(ctx context.Context, info sandbox.UserInfo) (Envelope, error) {
	if m.o.Classic {
		return m.post(ctx, "getinfo", "/getinfo/", [][2]string{
			{"iv", info.IV}, {"encrypedData", info.EncryptedData}, {"token", m.token}}, false)
	}
	return m.post(ctx, "userinfo", "/api/v1/userinfo", [][2]string{
		{"encryptedData", info.EncryptedData}, {"iv", info.IV},
		{"rawData", info.RawData}, {"signature", info.Signature}}, true)
}

// Me reads the stored profile.
func (m *MiniProgram) Me(ctx context.Context) (Envelope, error) {
	return m.do(ctx, "me", "GET", "/api/v1/me", nil, "", true)
}

// Logout ends the session and forgets the token.
func (m *MiniProgram) Logout(ctx context.Context) (Envelope, error) {
	e, err := m.post(ctx, "logout", "/api/v1/logout", nil, true)
	if err == nil && e.Code == 0 {
		m.token = ""
	}
	return e, err
}

func (m *MiniProgram) post(ctx context.Context, name, path string, fields [][2]string, bearer bool) (Envelope, error) {
	var body []byte
	ctype := "application/json"
	if m.o.Form {
		v := url.Values{}
		for _, f := range fields {
			v.Set(f[0], f[1])
		}
		body, ctype = []byte(v.Encode()), "application/x-www-form-urlencoded"
	} else {
		obj := map[string]string{}
		for _, f := range fields {
			obj[f[0]] = f[1]
		}
		body, _ = json.Marshal(obj)
	}
	return m.do(ctx, name, "POST", path, body, ctype, bearer)
}

func (m *MiniProgram) do(ctx context.Context, name, method, path string, body []byte, ctype string, bearer bool) (Envelope, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.o.Backend+path, rd)
	if err != nil {
		return Envelope{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	step := Step{Name: name, Method: method, URL: req.URL.String(), Body: m.shorten(string(body))}
	if bearer && m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
		step.Header = "Authorization: Bearer " + short(m.token)
	}
	start := time.Now()
	resp, err := m.o.HTTP.Do(req)
	if err != nil {
		return Envelope{}, fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	step.Took, step.HTTPStatus = time.Since(start), resp.StatusCode
	if err != nil {
		return Envelope{}, fmt.Errorf("%s: %w", name, err)
	}
	var e Envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return Envelope{}, fmt.Errorf("%s: HTTP %d, not an envelope: %.200q", name, resp.StatusCode, raw)
	}
	step.Envelope = e
	step.Answer = m.shorten(string(raw))
	if e.Code == 0 && name == "login" {
		var d struct{ Token string }
		_ = json.Unmarshal(e.Data, &d)
		step.Answer = strings.ReplaceAll(step.Answer, d.Token, short(d.Token))
	}
	if m.o.Trace != nil {
		m.o.Trace(step)
	}
	return e, nil
}

// shorten hides the token in a traced body.
func (m *MiniProgram) shorten(s string) string {
	if m.token != "" {
		s = strings.ReplaceAll(s, m.token, short(m.token))
	}
	return s
}

// short is a token's first six characters: enough to tell tokens apart.
func short(token string) string {
	if len(token) <= 6 {
		return "…"
	}
	return token[:6] + "…"
}
