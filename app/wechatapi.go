package app

import (
	"context"
	"errors"

	"wxbackend/domain"
	"wxbackend/ports"
)

// weChatAPI calls WeChat's server API for an app (phone numbers, session
// check, content check) with the app's access token (tokens.go).
type weChatAPI struct {
	apps   apps
	tokens *accessTokens
}

// call runs fn with the WeChat of appID and its token; when WeChat rejects
// the token, it is replaced and fn runs once more.
func (w weChatAPI) call(ctx context.Context, appID string, fn func(ports.WeChat, domain.AccessToken) error) error {
	wc, err := w.apps.lookup(appID)
	if err != nil {
		return err
	}
	tok, err := w.tokens.get(ctx, wc)
	if err != nil {
		return err
	}
	err = fn(wc, tok)
	if !errors.Is(err, ports.ErrAccessTokenRejected) {
		return err
	}
	if tok, err = w.tokens.refresh(ctx, wc, tok); err != nil {
		return err
	}
	return fn(wc, tok)
}
