package ports

import (
	"context"
	"time"

	"wxbackend/domain"
)

// Consents is the ledger of users' consent to subscribe messages (see
// domain.Consent), shared by every server.
type Consents interface {
	// Get returns k's consent: the zero Consent of k when none is recorded.
	Get(ctx context.Context, k domain.ConsentKey) (domain.Consent, error)
	// Update applies f to k's consent (the zero Consent of k when none is
	// recorded) and stores what it returns, which Update returns: no other
	// Update of k, by any server, comes between the read and the write.
	// An error of f is returned as it is, and nothing is stored.
	Update(ctx context.Context, k domain.ConsentKey, f func(domain.Consent) (domain.Consent, error)) (domain.Consent, error)
	// Credit applies domain.Consent.Credit(from, longTerm, now) to k's
	// consent and returns the result: atomically, in one statement on a
	// database (two servers crediting a tap's client report and WeChat's
	// event at once pair them as one server would).
	Credit(ctx context.Context, k domain.ConsentKey, from domain.ConsentSource, longTerm bool, now time.Time) (domain.Consent, error)
}

// Outbox is the queue of subscribe messages to send (ports.Queue of
// domain.Message, in lanes of Message.Lane).
type Outbox interface {
	Queue[domain.Message]
	// Add stores m as a pending job due at now, unless its app has a
	// message with m's idempotency key (by any server): then that job is
	// returned and added is false. Add returns once m is durable.
	Add(ctx context.Context, m domain.Message, now time.Time) (job Job[domain.Message], added bool, err error)
	// ByKey returns app's message of idempotency key key, or KindNotFound.
	ByKey(ctx context.Context, appID, key string) (Job[domain.Message], error)
	// ByMsgID returns app's message WeChat numbered msgID, or KindNotFound.
	ByMsgID(ctx context.Context, appID string, msgID int64) (Job[domain.Message], error)
	// SetOutcome records what became of message id.
	SetOutcome(ctx context.Context, id int64, o domain.MessageOutcome) error
}
