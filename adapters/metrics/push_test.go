package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wxbackend/adapters/metrics"
)

func TestPush_CountsByAppAndReasonOrResult(t *testing.T) {
	m := metrics.New()
	p := m.Push()
	p.Received("wxa", false)
	p.Received("wxa", true)
	p.Refused("", "app")
	p.Delivery("wxa", "delivered")
	m.PushBacklog(func() float64 { return 42 })
	want := `
# HELP wxb_push_oldest_undelivered_seconds Age of the oldest push event not delivered yet, in seconds (0: none).
# TYPE wxb_push_oldest_undelivered_seconds gauge
wxb_push_oldest_undelivered_seconds 42
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wxb_push_oldest_undelivered_seconds"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(m.Gatherer(), "wxb_push_received_total", "wxb_push_refused_total", "wxb_push_delivery_attempts_total"); err != nil || n != 4 {
		t.Fatalf("%d series (%v), want 4", n, err)
	}
}
