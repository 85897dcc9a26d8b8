package wiring_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
)

// scrape reads the server's /metrics with Prometheus's own parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is the value of the counter or gauge of family with exactly the
// labels given (name, value pairs), or of a histogram's sample count; 0
// when there is no such series.
func value(families map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	f := families[family]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// TestE2E_MetricsFollowAScriptedFlow runs a flow with successes and
// failures of every kind the metrics tell apart, and reads /metrics.
func TestE2E_MetricsFollowAScriptedFlow(t *testing.T) {
	metricsAddr := wiringtest.FreeAddr(t)
	s := startServer(t, func(c *config.Config) {
		c.DB = sqliteDB(t)
		c.Metrics.Addr = metricsAddr
		c.Limits.SessionPerMinute = 4
	})
	before := scrape(t, metricsAddr)
	if got := value(before, "wxb_http_requests_total"); got != 0 {
		t.Fatalf("requests before any: %v", got)
	}

	tok := s.login(t, "metrics-user")
	info := s.userInfo(t, "metrics-user", "Metric 📈")
	for i := 0; i < 2; i++ { // the same profile twice: one write, then the user cache's copy
		if e, _ := s.post(t, "/getinfo/", map[string]string{"token": tok, "encrypedData": info.EncryptedData, "iv": info.IV}); e.Code != 0 {
			t.Fatalf("getinfo: %+v", e)
		}
	}
	if e, _ := s.post(t, "/api/v1/login", map[string]string{"code": "0a1b2c3d4e5f"}); e.Code != 3 {
		t.Fatalf("an unknown code: %+v", e)
	}
	if e, _ := s.post(t, "/api/v1/userinfo", map[string]string{"token": strings.Repeat("A", 43), "encryptedData": "x", "iv": "y"}); e.Code != 2 {
		t.Fatalf("an unknown token: %+v", e)
	}
	var limited int
	for i := 0; i < 5; i++ { // 2 of the session's 4 are spent
		if e, _ := s.post(t, "/getinfo/", map[string]string{"token": tok, "encrypedData": info.EncryptedData, "iv": info.IV}); e.Code == 7 {
			limited++
		}
	}
	if limited != 3 {
		t.Fatalf("%d requests rate limited, want 3", limited)
	}
	s.post(t, "/no/such/route/o1234567890", map[string]string{})

	m := scrape(t, metricsAddr)
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"wxb_http_requests_total", []string{"route", "/api/v1/login", "method", "POST", "code", "0"}, 1},
		{"wxb_http_requests_total", []string{"route", "/api/v1/login", "method", "POST", "code", "3"}, 1},
		{"wxb_http_requests_total", []string{"route", "/getinfo", "method", "POST", "code", "0"}, 4},
		{"wxb_http_requests_total", []string{"route", "/getinfo", "method", "POST", "code", "7"}, 3},
		{"wxb_http_requests_total", []string{"route", "/api/v1/userinfo", "method", "POST", "code", "2"}, 1},
		{"wxb_http_requests_total", []string{"route", "unmatched", "method", "POST", "code", "1"}, 1},
		{"wxb_http_request_duration_seconds", []string{"route", "/getinfo"}, 7},
		{"wxb_wechat_calls_total", []string{"app", appID, "endpoint", "jscode2session", "errcode", "0"}, 1},
		{"wxb_wechat_calls_total", []string{"app", appID, "endpoint", "jscode2session", "errcode", "40029"}, 1},
		{"wxb_wechat_call_duration_seconds", []string{"endpoint", "jscode2session"}, 2},
		{"wxb_store_calls_total", []string{"store", "users", "op", "ensure_user", "result", "ok"}, 1},
		{"wxb_store_calls_total", []string{"store", "users", "op", "update_user_from", "result", "ok"}, 1}, // from the copy; the copy answered the rest
		{"wxb_store_calls_total", []string{"store", "users", "op", "update_user", "result", "ok"}, 0},
		{"wxb_user_cache_lookups_total", []string{"op", "ensure_user", "result", "miss"}, 1},
		{"wxb_user_cache_lookups_total", []string{"op", "update_user", "result", "hit"}, 4},
		{"wxb_store_calls_total", []string{"store", "sessions", "op", "get", "result", "ok"}, 7}, // an untagged token is refused before the store
		{"wxb_rate_limit_rejections_total", []string{"limiter", "session"}, 3},
		{"wxb_sessions_live", nil, 1},
		{"wxb_db_max_open_connections", []string{"db", "sqlite"}, 1}, // SQLite's one writer
	} {
		if got := value(m, c.family, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	// Bounded labels: no raw path, no token, no openid.
	for name, f := range m {
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, "o1234567890") || strings.Contains(v, tok) || strings.Contains(v, s.openID(t, "metrics-user")) {
					t.Errorf("%s has label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
	if t.Failed() {
		var b strings.Builder
		for name := range m {
			if strings.HasPrefix(name, "wxb_http") {
				for _, metric := range m[name].GetMetric() {
					fmt.Fprintln(&b, name, metric.GetLabel())
				}
			}
		}
		t.Log(b.String())
	}
	_ = context.Background
}
