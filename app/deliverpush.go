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
	// review, when not nil, applies a media check's verdict to the pending
	// avatar first (mediacheck.go); the event is delivered to the webhook
	// all the same. Applying it twice (a retry) changes nothing.
	review *ReviewAvatar
	// messages, when not nil, matches a subscribe_msg_sent_event to its
	// message first (Messages.Match), tried again while its msgid may
	// still be stored.
	messages *Messages
}

// Handle delivers job's event.
func (d *DeliverPush) Handle(ctx context.Context, job ports.Job[domain.PushEvent]) error {
	if d.review != nil && job.Item.Kind == domain.PushKindMediaCheck {
		if err := d.review.Handle(ctx, job.Item); err != nil {
			return err
		}
	}
	if d.messages != nil && job.Item.Kind == domain.PushSubscribeSent {
		if err := d.messages.Match(ctx, job.Item, job.CreatedAt); err != nil {
			return err
		}
	}
	if d.webhook == nil {
		return nil
	}
	return d.webhook.Deliver(ctx, job.ID, job.Item)
}
