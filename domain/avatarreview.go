package domain

import "time"

// An app may have WeChat check the avatars its users upload
// (wxa/media_check_async) before anyone else sees them. An uploaded avatar
// is then pending: stored, shown to its user (GET /api/v1/me), but not
// published: User.Avatar stays the previous one until WeChat's verdict is
// pushed. A pass publishes it; a risky verdict drops it and the user's
// next read says so (AvatarRejected); review and no answer at all are
// decided by the app's policy (MediaCheckPolicy).

// AvatarState is where an uploaded avatar stands.
type AvatarState string

// The states of an avatar's review; "" is none under way nor refused.
const (
	AvatarPending  AvatarState = "pending"  // submitted, no verdict yet
	AvatarRejected AvatarState = "rejected" // WeChat found the last one risky (or policy dropped it)
)

// AvatarReview is the avatar of a user waiting for WeChat's check, or the
// outcome of the last check that dropped one.
type AvatarReview struct {
	State AvatarState
	// Pending is the blob name of the avatar waiting for the verdict.
	Pending string
	// TraceID is WeChat's trace_id of the check, which its push carries.
	TraceID string
	// Since is when the avatar was submitted (zero when none is pending).
	Since time.Time
}

// ShownAvatar is the avatar the user sees as theirs: the pending one, if
// any, else the published one.
func (u User) ShownAvatar() string {
	if u.Review.State == AvatarPending && u.Review.Pending != "" {
		return u.Review.Pending
	}
	return u.Avatar
}

// SubmitAvatar records name, just submitted to WeChat's check as traceID at
// at, as the user's pending avatar, and returns a pending one it replaces
// ("" for none), whose verdict no longer matters.
func (u *User) SubmitAvatar(name, traceID string, at time.Time) (dropped string) {
	if u.Review.State == AvatarPending {
		dropped = u.Review.Pending
	}
	u.Review = AvatarReview{State: AvatarPending, Pending: name, TraceID: traceID, Since: at}
	u.UserSet |= FieldAvatar
	return dropped
}

// ResolveAvatar applies the verdict on the check traceID: publish makes the
// pending avatar the user's (returning the one it replaces), otherwise it is
// dropped (returning it) and the user's review says rejected. A traceID that
// is not the user's pending check changes nothing (ok false): a newer upload
// replaced it, or it was decided already.
func (u *User) ResolveAvatar(traceID string, publish bool) (released string, ok bool) {
	if u.Review.State != AvatarPending || u.Review.TraceID != traceID {
		return "", false
	}
	pending := u.Review.Pending
	if publish {
		u.Review = AvatarReview{}
		return u.SetAvatar(pending), true
	}
	u.Review = AvatarReview{State: AvatarRejected}
	return pending, true
}

// What to do with a pending avatar WeChat's verdict leaves undecided.
const (
	AvatarPublish = "publish" // publish it
	AvatarDrop    = "drop"    // drop it, the user's review says rejected
	AvatarKeep    = "keep"    // keep it pending (review only: for a person to decide, until the timeout)
)

// MediaCheckPolicy is an app's rule for verdicts that are not plain: review
// (AvatarPublish, AvatarDrop or AvatarKeep) and none within Timeout
// (AvatarPublish or AvatarDrop).
type MediaCheckPolicy struct {
	Review    string
	OnTimeout string
	Timeout   time.Duration
}

// Decide says what v means for a pending avatar: publish it, or not, or
// (decided false) keep waiting.
func (p MediaCheckPolicy) Decide(v Verdict) (publish, decided bool) {
	switch v {
	case VerdictPass:
		return true, true
	case VerdictRisky:
		return false, true
	}
	switch p.Review {
	case AvatarPublish:
		return true, true
	case AvatarKeep:
		return false, false
	}
	return false, true
}

// Expired reports whether u's pending avatar waited past the policy's
// timeout at now; the sweeper then applies OnTimeout.
func (p MediaCheckPolicy) Expired(u User, now time.Time) bool {
	return u.Review.State == AvatarPending && !now.Before(u.Review.Since.Add(p.Timeout))
}
