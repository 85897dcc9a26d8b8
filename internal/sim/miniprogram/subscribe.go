package miniprogram

import (
	"context"
	"sort"

	"wxbackend/adapters/httpapi/apiclient"
)

// ReportSubscription is what the page does once wx.requestSubscribeMessage
// succeeded: it reports the answers (template ID → accept, reject, ban or
// filter, beside errMsg, as the callback got them) to POST
// /api/v1/me/subscriptions, always as JSON.
func (m *MiniProgram) ReportSubscription(ctx context.Context, answers map[string]string) (Envelope, error) {
	ids := make([]string, 0, len(answers))
	for id := range answers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	req := apiclient.Request{Path: "/api/v1/me/subscriptions", Fields: []apiclient.Field{{Name: "errMsg", Value: "requestSubscribeMessage:ok"}}}
	for _, id := range ids {
		req.Fields = append(req.Fields, apiclient.Field{Name: id, Value: answers[id]})
	}
	return m.do(ctx, "subscriptions", req, true)
}
