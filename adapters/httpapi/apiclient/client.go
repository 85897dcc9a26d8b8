package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// Client calls one wxbackend server. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
	// UserAgent, when set, is sent with every request (a login replay is
	// bound to the address and User-Agent that sent the code).
	UserAgent string
}

// New returns a client of the server at base (e.g. http://127.0.0.1:8080);
// hc nil is http.DefaultClient.
func New(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), http: hc}
}

// Field is one body parameter. Bodies keep their fields' order.
type Field struct{ Name, Value string }

// Request is one call. A body is JSON unless Form is set; RawBody, when set,
// is sent as it is instead of Fields (as JSON, or as a form with Form).
type Request struct {
	Method  string // default POST
	Path    string
	Fields  []Field
	RawBody []byte
	// ContentType, with RawBody, is sent instead of JSON's or Form's.
	ContentType string
	Form        bool
	Token       string // sent as Authorization: Bearer
	Header      http.Header
}

// Response is the server's answer.
type Response struct {
	HTTPStatus int
	Envelope   Raw
	Body       []byte // the body as sent
}

// Error is an answer whose code is not 0.
type Error struct {
	Code       int
	Msg        string
	HTTPStatus int
}

func (e *Error) Error() string {
	return fmt.Sprintf("code %d (HTTP %d): %s", e.Code, e.HTTPStatus, e.Msg)
}

// Do sends r and reads the envelope. It fails when the request cannot be
// made or the answer is not an envelope; an envelope with a code other than
// 0 is a Response, not an error (see Err).
func (c *Client) Do(ctx context.Context, r Request) (Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	body, ctype := r.RawBody, "application/json"
	switch {
	case body != nil:
		if r.Form {
			ctype = "application/x-www-form-urlencoded"
		}
		if r.ContentType != "" {
			ctype = r.ContentType
		}
	case r.Form:
		v := url.Values{}
		for _, f := range r.Fields {
			v.Add(f.Name, f.Value)
		}
		body, ctype = []byte(v.Encode()), "application/x-www-form-urlencoded"
	case r.Fields != nil:
		obj := make(map[string]string, len(r.Fields))
		for _, f := range r.Fields {
			obj[f.Name] = f.Value
		}
		body, _ = json.Marshal(obj)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+r.Path, rd)
	if err != nil {
		return Response{}, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if c.UserAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, err
	}
	out := Response{HTTPStatus: resp.StatusCode, Body: raw}
	if err := json.Unmarshal(raw, &out.Envelope); err != nil {
		return out, fmt.Errorf("%s %s: HTTP %d, not an envelope: %.200q", method, r.Path, resp.StatusCode, raw)
	}
	return out, nil
}

// Err returns the answer's *Error when its code is not 0, else nil.
func (r Response) Err() error {
	if r.Envelope.Code == 0 {
		return nil
	}
	return &Error{Code: r.Envelope.Code, Msg: r.Envelope.Msg, HTTPStatus: r.HTTPStatus}
}

// Decode reads the data of a code-0 answer into v; another code is its *Error.
func (r Response) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	if err := json.Unmarshal(r.Envelope.Data, v); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return nil
}

// call is Do then Decode into a T.
func call[T any](ctx context.Context, c *Client, r Request) (T, Response, error) {
	var v T
	resp, err := c.Do(ctx, r)
	if err != nil {
		return v, resp, err
	}
	return v, resp, resp.Decode(&v)
}

// UserInfo is what wx.getUserInfo gives a page, to send as it is.
type UserInfo struct {
	EncryptedData, IV, RawData, Signature string
}

// Login exchanges a wx.login code on the v1 route.
func (c *Client) Login(ctx context.Context, code string) (Login, Response, error) {
	return call[Login](ctx, c, Request{Path: "/api/v1/login", Fields: []Field{{"code", code}}})
}

// SaveUserInfo sends wx.getUserInfo's data with the token on the v1 route.
func (c *Client) SaveUserInfo(ctx context.Context, token string, in UserInfo) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Path: "/api/v1/userinfo", Token: token, Fields: []Field{
		{"encryptedData", in.EncryptedData}, {"iv", in.IV}, {"rawData", in.RawData}, {"signature", in.Signature}}})
}

// Me reads the token's user.
func (c *Client) Me(ctx context.Context, token string) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Method: http.MethodGet, Path: "/api/v1/me", Token: token})
}

// Logout ends the token's session.
func (c *Client) Logout(ctx context.Context, token string) (Response, error) {
	resp, err := c.Do(ctx, Request{Path: "/api/v1/logout", Token: token})
	if err != nil {
		return resp, err
	}
	return resp, resp.Err()
}

// ClassicLogin exchanges a code on the tutorial's /login/ route.
func (c *Client) ClassicLogin(ctx context.Context, code string) (Login, Response, error) {
	return call[Login](ctx, c, Request{Path: "/login/", Fields: []Field{{"code", code}}})
}

// ClassicGetInfo sends wx.getUserInfo's data the tutorial's way: the token
// and the tutorial's spelling encrypedData in the body.
func (c *Client) ClassicGetInfo(ctx context.Context, token string, in UserInfo) (ClassicProfile, Response, error) {
	return call[ClassicProfile](ctx, c, Request{Path: "/getinfo/", Fields: []Field{
		{"iv", in.IV}, {"encrypedData", in.EncryptedData}, {"token", token}}})
}

// EditProfile sets the profile fields the user filled in (nickName,
// gender, language, city, province, country).
func (c *Client) EditProfile(ctx context.Context, token string, fields ...Field) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Path: "/api/v1/me/profile", Token: token, Fields: fields})
}

// UploadAvatar sends an image as wx.uploadFile does: multipart/form-data,
// the file in the part named "file" (any name the page chose: "avatar" and
// "file" are read), the token in the Authorization header.
func (c *Client) UploadAvatar(ctx context.Context, token, filename string, image []byte) (Profile, Response, error) {
	body, ctype, err := Multipart("file", filename, image, nil)
	if err != nil {
		return Profile{}, Response{}, err
	}
	return call[Profile](ctx, c, Request{Path: "/api/v1/me/avatar", Token: token, RawBody: body, ContentType: ctype})
}

// Multipart encodes form fields and a file as wx.uploadFile does, returning
// the body and its content type. The fields come first: the server reads a
// "token" field only when it precedes the file.
func Multipart(field, filename string, data []byte, form []Field) ([]byte, string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range form {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			return nil, "", err
		}
	}
	w, err := mw.CreateFormFile(field, filename)
	if err != nil {
		return nil, "", err
	}
	if _, err := w.Write(data); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), mw.FormDataContentType(), nil
}

// SharePhone sends getPhoneNumber's code (today's way).
func (c *Client) SharePhone(ctx context.Context, token, code string) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Path: "/api/v1/me/phone", Token: token, Fields: []Field{{"code", code}}})
}

// SharePhoneEncrypted sends getPhoneNumber's older encrypted form.
func (c *Client) SharePhoneEncrypted(ctx context.Context, token, encryptedData, iv string) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Path: "/api/v1/me/phone", Token: token,
		Fields: []Field{{"encryptedData", encryptedData}, {"iv", iv}}})
}

// RemovePhone forgets the user's phone number.
func (c *Client) RemovePhone(ctx context.Context, token string) (Profile, Response, error) {
	return call[Profile](ctx, c, Request{Path: "/api/v1/me/phone/remove", Token: token, Fields: []Field{}})
}

// Session reports the token's remaining life and whether WeChat still
// holds its session key.
func (c *Client) Session(ctx context.Context, token string) (Session, Response, error) {
	return call[Session](ctx, c, Request{Method: http.MethodGet, Path: "/api/v1/session", Token: token})
}
