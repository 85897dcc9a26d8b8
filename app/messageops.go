package app

// The operator's view of the outbox (wxbackend messages list|show|retry):
// messages listed by status, one shown, and one that failed or was given
// up on queued again.

import (
	"context"
	"fmt"

	"wxbackend/domain"
	"wxbackend/ports"
)

// MessageFilter selects messages for an operator, newest first.
type MessageFilter struct {
	AppID  string // "": every app
	Status string // a domain.Message status; "": every status
	Limit  int    // at most this many (0: 100)
}

// listScan bounds the messages List reads to find those of a status: the
// outbox is listed by job, newest first, and filtered here.
const listScan = 10000

// List returns the messages f selects, newest first. A status is matched
// among the newest listScan messages (of f's app).
func (s *Messages) List(ctx context.Context, f MessageFilter) ([]ports.Job[domain.Message], error) {
	switch f.Status {
	case "", domain.MessageQueued, domain.MessageUnknown, domain.MessageSent, domain.MessageDelivered, domain.MessageFailed:
	default:
		return nil, domain.Malformed("status", "queued, unknown, sent, delivered or failed")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Status == "" {
		return s.outbox.List(ctx, ports.JobFilter{AppID: f.AppID, Limit: f.Limit})
	}
	var out []ports.Job[domain.Message]
	page := ports.JobFilter{AppID: f.AppID, Limit: 500}
	for scanned := 0; scanned < listScan; {
		jobs, err := s.outbox.List(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if j.Item.Status == f.Status {
				if out = append(out, j); len(out) == f.Limit {
					return out, nil
				}
			}
		}
		if len(jobs) < page.Limit {
			break
		}
		scanned += len(jobs)
		page.Before = jobs[len(jobs)-1].ID
	}
	return out, nil
}

// Find returns message id of any app, or KindNotFound.
func (s *Messages) Find(ctx context.Context, id int64) (ports.Job[domain.Message], error) {
	return s.outbox.Get(ctx, id)
}

// Retry queues message id again, to be sent once more by a running
// server's worker (with its attempts reset): a message that failed, or
// that was given up on after every attempt (its status then unknown or
// queued). A failed message spends the user's consent again (its
// allowance was given back, or WeChat's 43101 zeroed it): without one, it
// is KindForbidden and stays failed. A message sent, delivered, or still
// being tried is KindInvalidInput, and nothing changes; none is
// KindNotFound.
func (s *Messages) Retry(ctx context.Context, id int64) (ports.Job[domain.Message], error) {
	j, err := s.outbox.Get(ctx, id)
	if err != nil {
		return j, err
	}
	m := j.Item
	switch {
	case m.Status == domain.MessageSent || m.Status == domain.MessageDelivered || j.State == ports.JobDone:
		return j, &domain.Error{Kind: domain.KindInvalidInput, Msg: fmt.Sprintf("message %d was sent (status %s): it is not sent again", id, m.Status)}
	case j.State == ports.JobPending:
		return j, &domain.Error{Kind: domain.KindInvalidInput, Msg: fmt.Sprintf("message %d is still being tried (status %s): the worker tries it again on its own", id, m.Status)}
	}
	now := s.clock.Now()
	if m.Status == domain.MessageFailed {
		if _, err := s.consents.Update(ctx, m.Consent(), func(c domain.Consent) (domain.Consent, error) { return c.Debit(now) }); err != nil {
			return j, err
		}
	}
	// Queued before the job is pending again: a worker that claims it at
	// once must not find it failed.
	out := m.MessageOutcome
	out.Status, out.ErrCode = domain.MessageQueued, 0
	if err := s.outbox.SetOutcome(ctx, id, out); err != nil {
		s.giveBack(ctx, m)
		return j, fmt.Errorf("retry message: %w", err)
	}
	if err := s.outbox.Replay(ctx, id, now); err != nil {
		if domain.KindOf(err) != domain.KindInvalidInput {
			// Still dead: as it was. (Not dead: queued again by another
			// retry in between, which spent the consent, not this one.)
			_ = s.outbox.SetOutcome(context.WithoutCancel(ctx), id, m.MessageOutcome)
		}
		s.giveBack(ctx, m)
		return j, err
	}
	return s.outbox.Get(ctx, id)
}

// giveBack restores the allowance Retry spent for a failed message.
func (s *Messages) giveBack(ctx context.Context, m domain.Message) {
	if m.Status == domain.MessageFailed {
		s.restore(ctx, m)
	}
}
