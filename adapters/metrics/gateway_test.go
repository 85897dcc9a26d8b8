package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wxbackend/adapters/metrics"
)

func TestGateway_CountsByUpstreamAndStatus(t *testing.T) {
	m := metrics.New()
	observe := m.Gateway()
	observe("shop", 200, time.Millisecond)
	observe("shop", 200, time.Millisecond)
	observe("shop", 401, time.Millisecond)
	observe("files", 504, time.Second)
	want := `
# HELP wxb_gateway_requests_total Requests through the built-in gateway by upstream and HTTP status (the upstream's, or the gateway's own: 401, 413, 429, 502, 504…).
# TYPE wxb_gateway_requests_total counter
wxb_gateway_requests_total{status="200",upstream="shop"} 2
wxb_gateway_requests_total{status="401",upstream="shop"} 1
wxb_gateway_requests_total{status="504",upstream="files"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wxb_gateway_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(m.Gatherer(), "wxb_gateway_request_duration_seconds"); err != nil || n != 2 {
		t.Fatalf("%d duration series (%v)", n, err)
	}
}
