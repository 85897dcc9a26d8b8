package miniprogram

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// CallService is wx.request to a business route of the team's own service
// behind the built-in gateway (path under a gateway prefix, e.g.
// /app/orders): the token in Authorization, the app in the Referer, as on
// the backend's routes. The answer is the service's own, not the
// backend's envelope (but when the gateway refuses: code 2, 8, 11…), so it
// is returned as it came, with its HTTP status.
func (m *MiniProgram) CallService(ctx context.Context, method, path string) (int, []byte, error) {
	url := strings.TrimRight(m.o.Backend, "/") + path
	step := Step{Name: "service", Method: method, URL: url}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if m.o.AppID != "" {
		req.Header.Set("Referer", "https://servicewechat.com/"+m.o.AppID+"/0/page-frame.html")
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
		step.Header = "Authorization: Bearer " + short(m.token)
	}
	client := m.o.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	step.Took, step.HTTPStatus, step.Answer = time.Since(start), resp.StatusCode, m.shorten(string(body))
	if m.o.Trace != nil {
		m.o.Trace(step)
	}
	return resp.StatusCode, body, err
}
