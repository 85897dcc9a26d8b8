package apiclient

import (
	"context"
	"sort"
)

// Subscriptions is the data of POST /api/v1/me/subscriptions: the user's
// consent to each template reported, as recorded.
type Subscriptions struct {
	Subscriptions []Subscription `json:"subscriptions"`
}

// Subscription is the consent to one template.
type Subscription struct {
	TemplateID string `json:"templateId"`
	Status     string `json:"status"`   // the last answer: accept, reject, ban ("" none)
	LongTerm   bool   `json:"longTerm"` // a long-term template: accepted, any number of messages
	Remaining  int    `json:"remaining"`
	Allowed    bool   `json:"allowed"` // a message may be sent now
}

// Subscribe reports what wx.requestSubscribeMessage answered: template ID
// → accept, reject, ban or filter.
func (c *Client) Subscribe(ctx context.Context, token string, answers map[string]string) (Subscriptions, Response, error) {
	fields := make([]Field, 0, len(answers))
	for id, status := range answers {
		fields = append(fields, Field{Name: id, Value: status})
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	return call[Subscriptions](ctx, c, Request{Path: "/api/v1/me/subscriptions", Token: token, Fields: fields})
}
