// Package ports declares what the core needs from the world. Adapters implement
// these interfaces; the app's use cases depend on nothing else.
package ports

import (
	"context"
	"errors"
	"iter"
	"time"

	"wxbackend/domain"
)

// SessionStore keeps sessions under the digest of their token. A digest
// carries its token's tag, the tag of the session's user (domain.UserTag),
// which a store may use to find the user's data with the token's in one
// step.
//
// WeChat keeps one session key per user per app and replaces it at every
// wx.login, so a store keeps the key per user: Create makes s.SessionKey the key of
// every live session of s's user, and Get returns the newest key for any of them.
type SessionStore interface {
	// Create stores s under id until s.ExpiresAt; sliding expiry never
	// extends it past s.MaxExpiresAt. A store that caps a user's live tokens
	// revokes the user's oldest when this one is one too many.
	Create(ctx context.Context, id domain.TokenDigest, s domain.Session) error
	// DeleteAll removes every live session of a user (log out everywhere).
	DeleteAll(ctx context.Context, id domain.Identity) error
	// Count returns about how many sessions are live, for operators.
	Count(ctx context.Context) (int, error)
	// Get returns the live session stored under id, with its user's newest key,
	// or an error of kind KindUnauthenticated when there is none (unknown,
	// expired or deleted).
	Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error)
	// Delete removes the session stored under id; removing none is no error.
	Delete(ctx context.Context, id domain.TokenDigest) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// UserRepo stores users, one per (appid, openid).
type UserRepo interface {
	// EnsureUser returns the user of id, creating it at now if it does not
	// exist. Concurrent calls for one id create one user and all succeed. A
	// non-empty unionID is recorded when the stored one differs.
	EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error)
	// Get returns the user of id, or an error of kind KindNotFound.
	Get(ctx context.Context, id domain.Identity) (domain.User, error)
	// UpdateUser reads id's user, lets update change it, and writes back what
	// update may change (Profile, UserSet, Avatar, Phone, UpdatedAt),
	// atomically: the write applies only to the user as update saw it, so
	// concurrent updates each land whole and none is lost. When another
	// update got in between, update runs again on the newer user (only its
	// last run counts, so it must have no effect but on the user it is
	// given). update reports whether it changed anything; when it did not,
	// nothing is written. UpdateUser returns the user as it is after the call.
	// No such user is KindNotFound; an error of update
	// is returned as it is, and nothing is written. The unionID is not
	// written: it comes from WeChat's server-to-server answers only, through
	// EnsureUser.
	UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error)
	// ByPhone returns the users of appID who shared the (pure) phone number.
	ByPhone(ctx context.Context, appID, pure string) ([]domain.Identity, error)
	// Delete removes id's user; removing none is no error.
	Delete(ctx context.Context, id domain.Identity) error
	// ByUnionID returns the users (of every app) with unionID, at most 100.
	ByUnionID(ctx context.Context, unionID string) ([]domain.Identity, error)
	// AvatarsInUse returns which of names some user's Avatar is: the set
	// holds those in use, and no others. Any number of names may be asked
	// at once.
	AvatarsInUse(ctx context.Context, names []string) (map[string]bool, error)
	// PendingAvatars returns users whose avatar has waited for WeChat's
	// check (Review.State pending) since before, or at, before: at most
	// limit, the longest waiting first.
	PendingAvatars(ctx context.Context, before time.Time, limit int) ([]domain.Identity, error)
	// ByAvatarTrace returns the user of appID whose pending avatar waits
	// for WeChat's check traceID, or KindNotFound (none, or traceID "").
	// WeChat's result names its check by trace_id only: the push's
	// FromUserName is the push service's account, not the user.
	ByAvatarTrace(ctx context.Context, appID, traceID string) (domain.Identity, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Decrypter opens WeChat's encrypted user data.
type Decrypter interface {
	// DecryptUserInfo takes encryptedData and iv as the base64 text the client
	// sent, decrypts them and parses the payload with domain.ParseUserInfo.
	// Text that is not base64, an iv that is not 16 bytes, or ciphertext that
	// is not a positive multiple of 16 bytes is KindInvalidInput; anything
	// wrong after decryption (padding, not JSON) is KindUndecryptable, with one
	// message whatever the reason.
	DecryptUserInfo(key domain.SessionKey, encryptedData, iv string) (domain.UserInfo, error)
	// DecryptPhone opens the older getPhoneNumber form the same way and
	// parses it with domain.ParsePhoneInfo.
	DecryptPhone(key domain.SessionKey, encryptedData, iv string) (domain.PhoneInfo, error)
}

// BlobStore keeps immutable blobs (avatar images) under their names
// (domain.NewBlobName: random, one per upload).
type BlobStore interface {
	// Put stores data under name. Putting a name again is no error (a
	// retry; names are never reused for other content). Storage that cannot
	// be reached is KindUnavailable.
	Put(ctx context.Context, name, contentType string, data []byte) error
	// Get returns the blob stored under name, or KindNotFound.
	Get(ctx context.Context, name string) (Blob, error)
	// Delete removes the blob stored under name; removing none is no error.
	Delete(ctx context.Context, name string) error
	// URL returns where a client fetches the blob.
	URL(ctx context.Context, name string) (string, error)
	// List yields every stored blob with when it was stored, in no
	// particular order, for a collector of unused ones; what is not a blob
	// (a temporary file, a name of another shape) is skipped. An error ends
	// the listing: it is yielded once, with a zero BlobInfo. Storage that
	// cannot be reached is KindUnavailable.
	List(ctx context.Context) iter.Seq2[BlobInfo, error]
}

// BlobInfo is a stored blob's name and when it was stored.
type BlobInfo struct {
	Name     string
	StoredAt time.Time
}

// Blob is a stored blob and its content type.
type Blob struct {
	Data        []byte
	ContentType string
}

// ImageProcessor turns an uploaded image into the image to keep.
type ImageProcessor interface {
	// Avatar checks that data is an image of a type it reads (by its bytes,
	// not by what the client said), refuses absurd dimensions before
	// decoding (KindTooLarge), decodes it whole (a corrupt or unknown image
	// is KindInvalidInput) and returns it re-encoded as a square of the
	// configured size with no metadata, and the file extension of its
	// format (".jpg"). Decoding waits for memory while others decode: a
	// wait ended by ctx returns an error wrapping ctx.Err().
	Avatar(ctx context.Context, data []byte) (Blob, string, error)
}

// WeChatSession is what jscode2session returns for a login code.
type WeChatSession struct {
	OpenID     string
	UnionID    string
	SessionKey domain.SessionKey
}

// WeChat is the part of WeChat's server API the core uses. Failures are
// KindUpstream (KindUpstreamTimeout when WeChat did not answer in time)
// unless a method says otherwise; a call answered 40001, 40014 or 42001
// (the access token is invalid or expired) also matches
// errors.Is(err, ErrAccessTokenRejected).
type WeChat interface {
	// AppID is the app this backend logs users in to.
	AppID() string
	// Code2Session exchanges a wx.login code. A code WeChat rejects is
	// KindBadCode; WeChat's rate limit is KindRateLimited.
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
	// StableToken fetches an access token with cgi-bin/stable_token: in
	// normal mode (force false) WeChat answers the token in force while it
	// is valid, so servers do not invalidate each other's; force replaces it.
	// It returns the token and how long it lives.
	StableToken(ctx context.Context, force bool) (domain.AccessToken, time.Duration, error)
	// PhoneNumber exchanges a getPhoneNumber code
	// (wxa/business/getuserphonenumber). A code WeChat rejects is KindBadCode.
	PhoneNumber(ctx context.Context, token domain.AccessToken, code string) (domain.PhoneInfo, error)
	// CheckSession asks wxa/checksession whether WeChat still holds key as
	// the user's session_key.
	CheckSession(ctx context.Context, token domain.AccessToken, openID string, key domain.SessionKey) (bool, error)
	// CheckText runs wxa/msg_sec_check (version 2, scene 1: a profile) on a
	// text the user wrote.
	CheckText(ctx context.Context, token domain.AccessToken, openID, text string) (domain.Verdict, error)
	// MediaCheckAsync submits the image at mediaURL, which WeChat fetches
	// itself, to wxa/media_check_async (version 2, scene 1: a profile) for
	// the user openID, and returns the trace_id the result will be pushed
	// with (a wxa_media_check event, within 30 minutes).
	MediaCheckAsync(ctx context.Context, token domain.AccessToken, openID, mediaURL string) (string, error)
	// Forward sends req to WeChat's API (the configured base URL, never
	// another host) with token added to its query, and returns what WeChat
	// answered, whatever its status: an answer is no error, but one whose
	// JSON errcode is 40001, 40014 or 42001 is also returned as an error
	// matching ErrAccessTokenRejected. An answer over the adapter's bound
	// is KindUpstream. A failure after the request was written (a timeout,
	// a connection dropped) also matches ErrAnswerLost.
	Forward(ctx context.Context, token domain.AccessToken, req APIRequest) (APIResponse, error)
}

// APIRequest is a call of WeChat's server API passed on for another
// service (WeChat.Forward).
type APIRequest struct {
	Method string
	// Path is the API's path without its leading slash, already checked
	// (domain.ParseOpenAPIPath).
	Path string
	// RawQuery is the query as the caller sent it, without access_token.
	RawQuery string
	// ContentType and Accept are the caller's headers of those names; no
	// other header is sent on.
	ContentType, Accept string
	// Body is the request's body, bounded by whoever read it.
	Body []byte
}

// APIResponse is WeChat's answer to a forwarded call: its status, its
// headers without the hop-by-hop ones and Set-Cookie, and its body byte
// for byte.
type APIResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
	// Errcode is the errcode of a JSON answer (0 when it has none), and
	// JSON whether the answer was read as JSON (small, and JSON by its
	// content type or first byte): for metrics, never for the caller.
	Errcode int
	JSON    bool
}

// ErrAnswerLost is in the chain of a forwarded call's error when the
// request had been written whole and no answer arrived (a timeout, a
// connection dropped): WeChat may have acted on it.
var ErrAnswerLost = errors.New("wechat: request sent, answer lost")

// ErrAccessTokenRejected is in the chain of a WeChat error answered 40001,
// 40014 or 42001: the access token used is invalid or expired.
var ErrAccessTokenRejected = errors.New("wechat: access token rejected")

// TokenCache keeps each app's access token where every server finds it:
// in this process, or in Redis for N servers.
type TokenCache interface {
	// Get returns appID's cached token; ok is false when there is none.
	Get(ctx context.Context, appID string) (t domain.CachedToken, ok bool, err error)
	// Put caches t for appID until t.ExpiresAt.
	Put(ctx context.Context, appID string, t domain.CachedToken) error
	// Drop removes appID's cached token if it is still rejected (a newer
	// one, cached since, stays).
	Drop(ctx context.Context, appID string, rejected domain.AccessToken) error
	// Lock takes appID's refresh lock for at most ttl, so one server at a
	// time fetches a token. ok is false when another holder has it; unlock
	// releases it if it is still this holder's.
	Lock(ctx context.Context, appID string, ttl time.Duration) (unlock func(), ok bool, err error)
	// CountForceRefresh counts a forced refresh of appID on day (YYYYMMDD)
	// and returns how many that day has had, this one included.
	CountForceRefresh(ctx context.Context, appID, day string) (int, error)
}

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// TokenSource makes what nobody may guess: session tokens, and the names
// of new blobs.
type TokenSource interface {
	NewToken() (domain.Token, error)
	// NewBlobName returns a fresh name for a blob of extension ext
	// (domain.NewBlobName of BlobNameBytes of randomness).
	NewBlobName(ext string) (string, error)
}

// RateLimiter admits at most a fixed number of events per key and period
// (its limit is the adapter's configuration), allowing bursts of that size.
type RateLimiter interface {
	// Allow records an event of key. When the key is over its limit it
	// returns false and how long until an event would be admitted.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// APIKeys knows the API keys of the internal listener, which other services
// of a deployment (not mini-programs) present.
type APIKeys interface {
	// Lookup returns the key presented, as the core sees it (never the key
	// itself). A key that is empty or not configured is
	// KindUnauthenticated.
	Lookup(ctx context.Context, presented string) (domain.APIKey, error)
}
