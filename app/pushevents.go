package app

// PushEvents is the operator's view of the push inbox: the events WeChat
// pushed, listed, shown, and a dead one replayed (delivered anew by a
// running server's worker).

import (
	"context"

	"wxbackend/domain"
	"wxbackend/ports"
)

// PushEvents reads and replays pushed events.
type PushEvents struct {
	inbox ports.Inbox
	clock ports.Clock
}

// List returns the events f selects, newest first.
func (p *PushEvents) List(ctx context.Context, f ports.JobFilter) ([]ports.Job[domain.PushEvent], error) {
	switch f.State {
	case "", ports.JobPending, ports.JobDone, ports.JobDead:
	default:
		return nil, domain.Malformed("state", "pending, done or dead")
	}
	return p.inbox.List(ctx, f)
}

// Get returns event id, or KindNotFound.
func (p *PushEvents) Get(ctx context.Context, id int64) (ports.Job[domain.PushEvent], error) {
	return p.inbox.Get(ctx, id)
}

// Replay makes dead event id pending again, due now. An event that is not
// dead is KindInvalidInput; none, KindNotFound.
func (p *PushEvents) Replay(ctx context.Context, id int64) error {
	return p.inbox.Replay(ctx, id, p.clock.Now())
}
