package ports

import (
	"context"

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
}
