package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wxbackend/domain"
	"wxbackend/ports"
)

// newOpenAPICalls registers the counter of WeChat API calls passed on for
// the other services of a deployment (issue 25).
func newOpenAPICalls(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "openapi_calls_total",
		Help: "WeChat API calls passed on for your services (openapi) by app, API path (one an allow-list admitted) and errcode (0: success; none: an answer that is not JSON, an image; timeout or transport: no answer)."},
		[]string{"app", "path", "errcode"})
	reg.MustRegister(c)
	return c
}

// Forward counts a call passed on for another service (openapi) by app,
// path and errcode. The path is one an allow-list admitted, so the label
// takes as many values as the allow-lists name.
func (x *weChat) Forward(ctx context.Context, token domain.AccessToken, req ports.APIRequest) (ports.APIResponse, error) {
	start := time.Now()
	resp, err := x.w.Forward(ctx, token, req)
	errcode := errcodeOf(err)
	if err == nil && !resp.JSON {
		errcode = "none" // an image, or another answer that is not JSON
	} else if err == nil {
		errcode = strconv.Itoa(resp.Errcode)
	}
	x.m.openAPICalls.WithLabelValues(x.w.AppID(), req.Path, errcode).Inc()
	x.m.wechatSeconds.WithLabelValues("openapi").Observe(time.Since(start).Seconds())
	return resp, err
}
