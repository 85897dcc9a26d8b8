package metrics_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/metrics"
)

// The internal listener is counted by route, key name and status; a
// request without an accepted key is "none".
func TestInternalRequests_ByRouteKeyNameAndStatus(t *testing.T) {
	m := metrics.New()
	observe := m.InternalRequests()
	observe("/introspect", "orders", http.StatusOK, time.Millisecond)
	observe("/introspect", "orders", http.StatusOK, time.Millisecond)
	observe("/introspect", "", http.StatusUnauthorized, time.Millisecond)
	observe("", "", http.StatusNotFound, time.Millisecond)
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "wxb_internal_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[strings.Join(labels, ",")] = s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"key=orders,route=/introspect,status=200": 2,
		"key=none,route=/introspect,status=401":   1,
		"key=none,route=unmatched,status=404":     1,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
