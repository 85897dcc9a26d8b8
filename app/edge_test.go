package app_test

import (
	"context"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
)

// edge calls the use cases as the HTTP adapter does: a request's token is
// authenticated once, then its use case runs with the session.
type edge struct{ a *app.App }

func (e edge) auth(ctx context.Context, appID, token string) (app.Authenticated, error) {
	return e.a.Authenticate.Handle(ctx, appID, token)
}

func (e edge) Login(ctx context.Context, appID, code string, client app.ClientDigest) (app.LoginResult, error) {
	return e.a.Login.Handle(ctx, appID, code, client)
}

func (e edge) SaveUserInfo(ctx context.Context, appID, token string, in app.EncryptedUserInfo) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.SaveUserInfo.Handle(ctx, a.Session, in)
}

func (e edge) Me(ctx context.Context, appID, token string) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.Me.Handle(ctx, a.Session)
}

func (e edge) EditProfile(ctx context.Context, appID, token string, in domain.ProfileInput) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.EditProfile.Handle(ctx, a.Session, in)
}

func (e edge) SetAvatar(ctx context.Context, appID, token string, image []byte) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.SetAvatar.Handle(ctx, a.Session, image)
}

func (e edge) Avatar(ctx context.Context, name string) (ports.Blob, error) {
	return e.a.Avatar.Handle(ctx, name)
}

func (e edge) SetPhone(ctx context.Context, appID, token string, in app.PhoneInput) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.SetPhone.Handle(ctx, a.Session, in)
}

func (e edge) RemovePhone(ctx context.Context, appID, token string) (domain.User, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return e.a.RemovePhone.Handle(ctx, a.Session)
}

func (e edge) SessionStatus(ctx context.Context, appID, token string) (app.SessionStatus, error) {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return app.SessionStatus{}, err
	}
	return e.a.CheckSession.Handle(ctx, a.Session)
}

func (e edge) Logout(ctx context.Context, appID, token string) error {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return err
	}
	return e.a.Logout.Handle(ctx, a)
}

func (e edge) LogoutEverywhere(ctx context.Context, appID, token string) error {
	a, err := e.auth(ctx, appID, token)
	if err != nil {
		return err
	}
	return e.a.LogoutEverywhere.Handle(ctx, a.Session)
}

func (e edge) Ready(ctx context.Context) error { return e.a.Ready.Handle(ctx) }

func (e edge) HeldLogins() int           { return e.a.HeldLogins() }
func (e edge) LoginSweeperRunning() bool { return e.a.LoginSweeperRunning() }

// The operator's use cases take no token.
func (e edge) FindUsers(ctx context.Context, appID, query string) ([]domain.User, error) {
	return e.a.Operator.FindUsers(ctx, appID, query)
}
func (e edge) DeleteUser(ctx context.Context, id domain.Identity) error {
	return e.a.Operator.DeleteUser(ctx, id)
}
func (e edge) CountSessions(ctx context.Context) (int, error) { return e.a.Operator.CountSessions(ctx) }
