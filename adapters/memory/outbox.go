package memory

import (
	"context"
	"errors"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Outbox is a ports.Outbox in this process (see Queue).
type Outbox struct {
	*Queue[domain.Message]
	keys map[[2]string]int64 // (app, idempotency key) → ID
}

var _ ports.Outbox = (*Outbox)(nil)

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox {
	return &Outbox{
		Queue: NewQueue(func(m domain.Message) string { return m.AppID }, domain.Message.Lane),
		keys:  map[[2]string]int64{},
	}
}

// Add implements ports.Outbox.
func (o *Outbox) Add(ctx context.Context, m domain.Message, now time.Time) (ports.Job[domain.Message], bool, error) {
	if err := ctx.Err(); err != nil {
		return ports.Job[domain.Message]{}, false, domain.Wrap(domain.KindUnavailable, err)
	}
	if m.AppID == "" || m.IdempotencyKey == "" {
		return ports.Job[domain.Message]{}, false, domain.Wrap(domain.KindInternal, errors.New("add message: no app or idempotency key"))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	k := [2]string{m.AppID, m.IdempotencyKey}
	if id, ok := o.keys[k]; ok {
		return o.jobs[id-1].Job, false, nil
	}
	if m.Status == "" {
		m.Status = domain.MessageQueued
	}
	id := o.add(m, now)
	o.keys[k] = id
	return o.jobs[id-1].Job, true, nil
}

// ByKey implements ports.Outbox.
func (o *Outbox) ByKey(_ context.Context, appID, key string) (ports.Job[domain.Message], error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, ok := o.keys[[2]string{appID, key}]
	if !ok {
		return ports.Job[domain.Message]{}, domain.ErrNotFound
	}
	return o.jobs[id-1].Job, nil
}

// ByMsgID implements ports.Outbox.
func (o *Outbox) ByMsgID(_ context.Context, appID string, msgID int64) (ports.Job[domain.Message], error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, j := range o.jobs {
		if j.app == appID && msgID != 0 && j.Item.MsgID == msgID {
			return j.Job, nil
		}
	}
	return ports.Job[domain.Message]{}, domain.ErrNotFound
}

// SetOutcome implements ports.Outbox.
func (o *Outbox) SetOutcome(_ context.Context, id int64, out domain.MessageOutcome) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id < 1 || id > int64(len(o.jobs)) {
		return domain.ErrNotFound
	}
	o.jobs[id-1].Item.MessageOutcome = out
	return nil
}
