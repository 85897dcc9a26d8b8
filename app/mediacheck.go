package app

// Avatars checked by WeChat: for an app that has them checked, SetAvatar
// stores an upload, submits its public URL to wxa/media_check_async and
// keeps it pending (shown to its user only, User.Review); ReviewAvatar
// consumes WeChat's verdict, a wxa_media_check push the inbox stored, as
// DeliverPush hands it on, and publishes or drops the pending avatar.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// MediaCheckOptions are the rules of the avatar check; each tagged field is
// a setting. Which apps have their avatars checked is each app's own
// (Deps.MediaCheckApps).
type MediaCheckOptions struct {
	// Review is what a "review" verdict does: publish, drop, or keep it
	// pending until the timeout.
	Review string `setting:"avatar-check-review" default:"keep" usage:"what WeChat's review verdict does to a pending avatar: publish, drop, or keep (pending until avatar-check-timeout)"`
	// OnTimeout is what happens to an avatar with no verdict in time.
	OnTimeout string `setting:"avatar-check-on-timeout" default:"drop" usage:"what happens to a pending avatar with no verdict within avatar-check-timeout: publish or drop"`
	// Timeout is how long a pending avatar waits for WeChat's verdict;
	// WeChat pushes within 30 minutes.
	Timeout time.Duration `setting:"avatar-check-timeout" default:"30m" usage:"how long an avatar waits for WeChat's image check (WeChat answers within 30 min)"`
}

// Valid reports what is wrong with o, or nil.
func (o MediaCheckOptions) Valid() error {
	if o.Review != domain.AvatarPublish && o.Review != domain.AvatarDrop && o.Review != domain.AvatarKeep {
		return fmt.Errorf("avatar-check-review is %q: want publish, drop or keep", o.Review)
	}
	if o.OnTimeout != domain.AvatarPublish && o.OnTimeout != domain.AvatarDrop {
		return fmt.Errorf("avatar-check-on-timeout is %q: want publish or drop", o.OnTimeout)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("avatar-check-timeout must be positive")
	}
	return nil
}

// Policy is o as the domain's rule.
func (o MediaCheckOptions) Policy() domain.MediaCheckPolicy {
	return domain.MediaCheckPolicy{Review: o.Review, OnTimeout: o.OnTimeout, Timeout: o.Timeout}
}

// mediaChecks submits the avatars of the apps that have them checked.
type mediaChecks struct {
	apps   map[string]bool // appids whose avatars are checked
	wechat weChatAPI
	blobs  ports.BlobStore
}

// on reports whether appID's avatars are checked.
func (m mediaChecks) on(appID string) bool { return m.apps[appID] }

// submit asks WeChat to check the stored avatar name of sess's user, by the
// URL the blob store serves it at (which WeChat must be able to fetch for
// 30 minutes: a public URL), and returns the check's trace_id.
func (m mediaChecks) submit(ctx context.Context, sess domain.Session, name string) (string, error) {
	url, err := m.blobs.URL(ctx, name)
	if err != nil {
		return "", fmt.Errorf("avatar URL for the check: %w", err)
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		// A path WeChat cannot fetch: the public URL is not configured.
		return "", domain.Wrap(domain.KindInternal, fmt.Errorf("avatar check needs an absolute public avatar URL, got a path"))
	}
	var trace string
	err = m.wechat.call(ctx, sess.AppID, func(wc ports.WeChat, t domain.AccessToken) error {
		var err error
		trace, err = wc.MediaCheckAsync(ctx, t, sess.OpenID, url)
		return err
	})
	return trace, err
}

// ReviewAvatar applies WeChat's verdicts on pending avatars.
type ReviewAvatar struct {
	users   ports.UserRepo
	avatars avatarBin
	policy  domain.MediaCheckPolicy
	clock   ports.Clock
	log     *slog.Logger
}

// Handle applies the verdict e carries (a wxa_media_check event) to the
// avatar of the check's trace_id, whose user is found by that trace_id:
// WeChat's documentation gives the push's FromUserName as its push
// service's account (平台推送服务UserName), not the user the check was
// submitted for, so it is not relied on. An event it cannot read, or
// whose trace_id is no pending avatar's (replaced by a newer upload,
// decided already, or not this server's), is recorded in the log and is no
// error: the inbox keeps the event itself. Only a store that fails is an
// error, so the worker tries again.
func (r *ReviewAvatar) Handle(ctx context.Context, e domain.PushEvent) error {
	check, err := domain.ParseMediaCheck(e)
	if err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "media check event not read", slog.String("app", e.AppID), slog.String("error", err.Error()))
		return nil
	}
	publish, decided := r.policy.Decide(check.Verdict)
	if !decided {
		r.log.LogAttrs(ctx, slog.LevelInfo, "avatar left pending for review", slog.String("app", e.AppID), slog.String("trace_id", check.TraceID))
		return nil
	}
	id, err := r.users.ByAvatarTrace(ctx, e.AppID, check.TraceID)
	if domain.KindOf(err) == domain.KindNotFound {
		r.log.LogAttrs(ctx, slog.LevelInfo, "media check of no pending avatar", slog.String("app", e.AppID), slog.String("trace_id", check.TraceID))
		return nil
	}
	if err != nil {
		return err
	}
	return r.resolve(ctx, id, check.TraceID, publish, string(check.Verdict))
}

// resolve publishes or drops the pending avatar of id's check traceID.
func (r *ReviewAvatar) resolve(ctx context.Context, id domain.Identity, traceID string, publish bool, why string) error {
	var released string
	var matched bool
	now := r.clock.Now()
	_, err := r.users.UpdateUser(ctx, id, func(u *domain.User) (bool, error) {
		released, matched = u.ResolveAvatar(traceID, publish)
		if matched {
			u.UpdatedAt = now
		}
		return matched, nil
	})
	if domain.KindOf(err) == domain.KindNotFound || (err == nil && !matched) {
		r.log.LogAttrs(ctx, slog.LevelInfo, "media check of no pending avatar", slog.String("app", id.AppID), slog.String("trace_id", traceID))
		return nil
	}
	if err != nil {
		return err
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "avatar checked", slog.String("app", id.AppID), slog.String("trace_id", traceID),
		slog.String("verdict", why), slog.Bool("published", publish))
	if released != "" {
		what := "replaced"
		if !publish {
			what = "rejected"
		}
		r.avatars.release(ctx, released, what)
	}
	return nil
}

// checkAvatars turns the avatar check on for d.MediaCheckApps: their
// uploads are submitted, and the push worker applies the verdicts (it runs
// for these apps even without a webhook).
func (a *App) checkAvatars(d Deps, o Options, avatars avatarBin) error {
	if len(d.MediaCheckApps) == 0 {
		return nil
	}
	if err := o.MediaCheck.Valid(); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if a.ReceivePush == nil {
		return fmt.Errorf("app: avatars checked by WeChat (%s) need the push receiver: WeChat pushes the verdict", strings.Join(d.MediaCheckApps, ", "))
	}
	for _, id := range d.MediaCheckApps {
		if _, err := a.apps.lookup(id); err != nil || id == "" {
			return fmt.Errorf("app: avatar check for %q, an app not served", id)
		}
		a.SetAvatar.checks.apps[id] = true
	}
	review := &ReviewAvatar{users: d.Users, avatars: avatars, policy: o.MediaCheck.Policy(), clock: d.Clock, log: d.Log}
	if a.DeliverPush == nil {
		a.DeliverPush = &DeliverPush{}
	}
	a.DeliverPush.review = review
	a.SweepAvatarChecks = &SweepAvatarChecks{review: review}
	return nil
}
