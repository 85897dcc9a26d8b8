package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Introspection is the answer of POST /introspect on the internal listener,
// in the shape of RFC 7662 (not an envelope): Active and, for an active
// token, who it is. UnionID and IssuedAt are omitted when unknown.
type Introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub,omitempty"`
	AppID     string `json:"appid,omitempty"`
	UnionID   string `json:"unionid,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
}

// Introspect asks the internal listener at base (its base URL) about token,
// with the API key key. An answer other than 200 is an *Error.
func Introspect(ctx context.Context, hc *http.Client, base, key, token string) (Introspection, error) {
	form := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/introspect", strings.NewReader(form))
	if err != nil {
		return Introspection{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return Introspection{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Introspection{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var env Raw
		if err := json.Unmarshal(body, &env); err != nil {
			return Introspection{}, fmt.Errorf("introspect: HTTP %d", resp.StatusCode)
		}
		return Introspection{}, &Error{HTTPStatus: resp.StatusCode, Code: env.Code, Msg: env.Msg}
	}
	var in Introspection
	if err := json.Unmarshal(body, &in); err != nil {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	return in, nil
}
