package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// WX is the part of the wx API a mini-program uses to log in and share its
// user's profile. *Sandbox implements it in process, *Phone over HTTP.
type WX interface {
	Login(ctx context.Context, user string) (code string, err error)
	CheckSession(ctx context.Context, user string) (bool, error)
	GetUserInfo(ctx context.Context, user string) (UserInfo, error)
	ChooseAvatar(ctx context.Context, user string) ([]byte, error)
	GetPhoneNumber(ctx context.Context, user string) (code string, enc EncryptedPhone, err error)
}

var (
	_ WX = (*Sandbox)(nil)
	_ WX = (*Phone)(nil)
)

// Phone is the sandbox's client face seen from another process: what the
// WeChat app on a phone would answer a mini-program.
type Phone struct {
	base string
	http *http.Client
	// AppID, when set, names the app on a sandbox that serves several
	// (sandbox.Multi); empty is its default app.
	AppID string
}

// NewPhone returns a client of the sandbox at base (e.g. http://127.0.0.1:8090).
// A nil client means http.DefaultClient.
func NewPhone(base string, client *http.Client) *Phone {
	if client == nil {
		client = http.DefaultClient
	}
	return &Phone{base: strings.TrimRight(base, "/"), http: client}
}

// Login implements WX.
func (p *Phone) Login(ctx context.Context, user string) (string, error) {
	var r struct{ Code string }
	if err := p.call(ctx, "POST", "/sandbox/wx/login", map[string]string{"user": user}, &r); err != nil {
		return "", err
	}
	return r.Code, nil
}

// CheckSession implements WX.
func (p *Phone) CheckSession(ctx context.Context, user string) (bool, error) {
	err := p.call(ctx, "POST", "/sandbox/wx/checkSession", map[string]string{"user": user}, nil)
	if se, ok := err.(*statusError); ok && se.status == http.StatusConflict {
		return false, nil
	}
	return err == nil, err
}

// GetUserInfo implements WX.
func (p *Phone) GetUserInfo(ctx context.Context, user string) (UserInfo, error) {
	var r UserInfo
	err := p.call(ctx, "POST", "/sandbox/wx/getUserInfo", map[string]string{"user": user}, &r)
	return r, err
}

// GetPhoneNumber implements WX.
func (p *Phone) GetPhoneNumber(ctx context.Context, user string) (string, EncryptedPhone, error) {
	var r struct {
		Code string
		EncryptedPhone
	}
	err := p.call(ctx, "POST", "/sandbox/wx/getPhoneNumber", map[string]string{"user": user}, &r)
	return r.Code, r.EncryptedPhone, err
}

// ChooseAvatar implements WX.
func (p *Phone) ChooseAvatar(ctx context.Context, user string) ([]byte, error) {
	var r struct{ Data []byte }
	err := p.call(ctx, "POST", "/sandbox/wx/chooseAvatar", map[string]string{"user": user}, &r)
	return r.Data, err
}

// NicknameInput is what <input type="nickname"> offers the user.
func (p *Phone) NicknameInput(ctx context.Context, user string) (string, error) {
	var r struct{ Value string }
	err := p.call(ctx, "POST", "/sandbox/wx/nicknameInput", map[string]string{"user": user}, &r)
	return r.Value, err
}

// SetLegacy switches the user's getUserInfo to the pre-2021 behaviour (the
// real profile) or back to today's (anonymous).
func (p *Phone) SetLegacy(ctx context.Context, user string, legacy bool) (User, error) {
	var u User
	err := p.call(ctx, "PUT", "/sandbox/users/"+url.PathEscape(user)+"/legacy", map[string]bool{"legacy": legacy}, &u)
	return u, err
}

// SetProfile sets the user's real profile and switches the user to legacy
// mode (see Sandbox.SetProfile).
func (p *Phone) SetProfile(ctx context.Context, user string, prof Profile) (User, error) {
	var u User
	err := p.call(ctx, "PUT", "/sandbox/users/"+url.PathEscape(user)+"/profile", prof, &u)
	return u, err
}

// User describes a test user.
func (p *Phone) User(ctx context.Context, user string) (User, error) {
	var u User
	err := p.call(ctx, "GET", "/sandbox/users/"+url.PathEscape(user), nil, &u)
	return u, err
}

type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return fmt.Sprintf("sandbox: HTTP %d: %s", e.status, e.msg) }

func (p *Phone) call(ctx context.Context, method, path string, body, out any) error {
	if p.AppID != "" {
		if m, ok := body.(map[string]string); ok {
			m["appid"] = p.AppID
		}
		path += "?appid=" + url.QueryEscape(p.AppID)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ ErrMsg string }
		_ = json.Unmarshal(b, &e)
		return &statusError{resp.StatusCode, e.ErrMsg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("sandbox: answer is not JSON: %w", err)
	}
	return nil
}
