package app

// SweepAvatarChecks decides the pending avatars whose verdict never came
// (WeChat answers within 30 minutes; a push can be lost): after the
// policy's Timeout they are published or dropped by its OnTimeout. One run
// covers the whole table, by the index of pending avatars; several servers
// sweeping at once is harmless, as each user's update applies only while
// the avatar is still pending (ResolveAvatar).

import (
	"context"
	"log/slog"

	"wxbackend/domain"
)

// SweepAvatarChecks sweeps pending avatars.
type SweepAvatarChecks struct {
	review *ReviewAvatar
}

// sweepBatch is how many pending avatars one query returns.
const sweepBatch = 100

// Handle decides every avatar pending past the timeout at the clock's now,
// and returns how many it decided.
func (s *SweepAvatarChecks) Handle(ctx context.Context) (int, error) {
	r := s.review
	now := r.clock.Now()
	publish := r.policy.OnTimeout == domain.AvatarPublish
	decided := 0
	for {
		ids, err := r.users.PendingAvatars(ctx, now.Add(-r.policy.Timeout), sweepBatch)
		if err != nil {
			return decided, err
		}
		progress := 0
		for _, id := range ids {
			var released string
			var ok bool
			_, err := r.users.UpdateUser(ctx, id, func(u *domain.User) (bool, error) {
				ok = false
				if r.policy.Expired(*u, now) {
					released, ok = u.ResolveAvatar(u.Review.TraceID, publish)
					u.UpdatedAt = now
				}
				return ok, nil
			})
			if domain.KindOf(err) == domain.KindNotFound {
				continue // erased meanwhile
			}
			if err != nil {
				return decided, err
			}
			if !ok {
				continue
			}
			decided++
			progress++
			r.log.LogAttrs(ctx, slog.LevelInfo, "avatar check timed out", slog.String("app", id.AppID), slog.Bool("published", publish))
			if released != "" {
				what := "replaced"
				if !publish {
					what = "rejected"
				}
				r.avatars.release(ctx, released, what)
			}
		}
		if len(ids) < sweepBatch || progress == 0 {
			return decided, nil
		}
	}
}
