package app

// DeliverPush hands a stored push event on to its app's webhook: the
// handler the push inbox's Worker runs. Whatever fails is tried again (see
// Worker); the webhook sees each event with the same idempotency key every
// time, so a delivery repeated after a lost answer can be recognised.

import (
	"context"

	"wxbackend/domain"
	"wxbackend/ports"
)

// DeliverPush delivers push events.
type DeliverPush struct {
	webhook ports.Webhook
}

// Handle delivers job's event.
func (d *DeliverPush) Handle(ctx context.Context, job ports.Job[domain.PushEvent]) error {
	return d.webhook.Deliver(ctx, job.ID, job.Item)
}
