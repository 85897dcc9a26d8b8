// Package miniprogram simulates a mini-program's client flow against a
// backend: wx.login then POST the code, wx.getUserInfo then POST the encrypted
// data with the token, read the profile back, log out. WeChat's side comes from
// the sandbox (in process or over HTTP). It is used by cmd/wxsim, the
// end-to-end tests and the load generator.
package miniprogram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/internal/sim/sandbox"
)

// Options configure a MiniProgram.
type Options struct {
	Backend string     // the backend's base URL, e.g. http://127.0.0.1:8080
	WX      sandbox.WX // WeChat on the phone
	User    string     // the sandbox user this phone belongs to
	// AppID, when set, is sent as wx.request does, in the Referer
	// (https://servicewechat.com/{appid}/…): a backend that serves several
	// apps tells them apart by it.
	AppID string
	// Classic uses the tutorial's routes and field names (/login/,
	// /getinfo/, encrypedData, token in the body) instead of /api/v1.
	Classic bool
	// Form sends application/x-www-form-urlencoded bodies instead of JSON.
	Form  bool
	HTTP  *http.Client // default http.DefaultClient
	Trace func(Step)   // called after each request, when set
}

// Envelope is the backend's answer.
type Envelope = apiclient.Raw

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
	api   *apiclient.Client
	token string
}

// New returns a mini-program that has not logged in.
func New(o Options) *MiniProgram {
	return &MiniProgram{o: o, api: apiclient.New(o.Backend, o.HTTP)}
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
	var d apiclient.Login
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

// ChooseAndUploadAvatar is today's avatar fill-in: the user picks an image
// with <button open-type="chooseAvatar">, and the page uploads the
// temporary file with wx.uploadFile (multipart/form-data, the token in the
// header, or in a "token" form field on the tutorial's way).
func (m *MiniProgram) ChooseAndUploadAvatar(ctx context.Context) (Envelope, error) {
	image, err := m.o.WX.ChooseAvatar(ctx, m.o.User)
	if err != nil {
		return Envelope{}, fmt.Errorf("chooseAvatar: %w", err)
	}
	var form []apiclient.Field
	if m.o.Classic {
		form = []apiclient.Field{{Name: "token", Value: m.token}}
	}
	body, ctype, err := apiclient.Multipart("avatar", "tmp_avatar.jpg", image, form)
	if err != nil {
		return Envelope{}, err
	}
	step := fmt.Sprintf("multipart/form-data: part avatar, %d bytes of JPEG (with EXIF GPS)", len(image))
	return m.do(ctx, "avatar", apiclient.Request{Path: "/api/v1/me/avatar", RawBody: body, ContentType: ctype}, !m.o.Classic, step)
}

// SharePhone is <button open-type="getPhoneNumber">: today's code, or with
// encrypted the older encrypted form, sent to the phone route.
func (m *MiniProgram) SharePhone(ctx context.Context, encrypted bool) (Envelope, error) {
	code, enc, err := m.o.WX.GetPhoneNumber(ctx, m.o.User)
	if err != nil {
		return Envelope{}, fmt.Errorf("getPhoneNumber: %w", err)
	}
	if encrypted {
		return m.post(ctx, "phone", "/api/v1/me/phone", [][2]string{{"encryptedData", enc.EncryptedData}, {"iv", enc.IV}}, true)
	}
	return m.post(ctx, "phone", "/api/v1/me/phone", [][2]string{{"code", code}}, true)
}

// Session asks whether WeChat still holds the session's key.
func (m *MiniProgram) Session(ctx context.Context) (Envelope, error) {
	return m.do(ctx, "session", apiclient.Request{Method: "GET", Path: "/api/v1/session"}, true)
}

// SetNickName is today's nickname fill-in: what the user typed in
// <input type="nickname">, sent to the profile route.
func (m *MiniProgram) SetNickName(ctx context.Context, nick string) (Envelope, error) {
	return m.post(ctx, "nickname", "/api/v1/me/profile", [][2]string{{"nickName", nick}}, true)
}

// Me reads the stored profile.
func (m *MiniProgram) Me(ctx context.Context) (Envelope, error) {
	return m.do(ctx, "me", apiclient.Request{Method: "GET", Path: "/api/v1/me"}, true)
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
	req := apiclient.Request{Path: path, Form: m.o.Form, Fields: []apiclient.Field{}}
	for _, f := range fields {
		req.Fields = append(req.Fields, apiclient.Field{Name: f[0], Value: f[1]})
	}
	return m.do(ctx, name, req, bearer)
}

// do sends req and traces it; note, when set, stands for the body in the
// trace.
func (m *MiniProgram) do(ctx context.Context, name string, req apiclient.Request, bearer bool, note ...string) (Envelope, error) {
	step := Step{Name: name, Method: req.Method, URL: strings.TrimRight(m.o.Backend, "/") + req.Path}
	if step.Method == "" {
		step.Method = "POST"
	}
	if req.Fields != nil {
		step.Body = m.shorten(bodyText(req))
	}
	if len(note) > 0 {
		step.Body = note[0]
	}
	if m.o.AppID != "" {
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Set("Referer", "https://servicewechat.com/"+m.o.AppID+"/0/page-frame.html")
	}
	if bearer && m.token != "" {
		req.Token = m.token
		step.Header = "Authorization: Bearer " + short(m.token)
	}
	start := time.Now()
	resp, err := m.api.Do(ctx, req)
	step.Took, step.HTTPStatus = time.Since(start), resp.HTTPStatus
	if err != nil {
		return Envelope{}, fmt.Errorf("%s: %w", name, err)
	}
	step.Envelope = resp.Envelope
	step.Answer = m.shorten(string(resp.Body))
	if resp.Envelope.Code == 0 && name == "login" {
		var d apiclient.Login
		_ = json.Unmarshal(resp.Envelope.Data, &d)
		step.Answer = strings.ReplaceAll(step.Answer, d.Token, short(d.Token))
	}
	if m.o.Trace != nil {
		m.o.Trace(step)
	}
	return resp.Envelope, nil
}

// bodyText is the body req sends, for the trace.
func bodyText(req apiclient.Request) string {
	if req.Form {
		v := url.Values{}
		for _, f := range req.Fields {
			v.Add(f.Name, f.Value)
		}
		return v.Encode()
	}
	obj := map[string]string{}
	for _, f := range req.Fields {
		obj[f.Name] = f.Value
	}
	b, _ := json.Marshal(obj)
	return string(b)
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
