package metrics_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"wxbackend/adapters/metrics"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// errcode stands for the WeChat adapter's errors, which carry WeChat's
// errcode.
type errcode int

func (e errcode) Error() string      { return fmt.Sprintf("errcode %d", int(e)) }
func (e errcode) WeChatErrcode() int { return int(e) }

func TestWeChat_CountsCallsByErrcodeAndRefreshesByMode(t *testing.T) {
	m := metrics.New()
	fake := portfake.NewWeChat("wxapp")
	fake.FailCode("busy", domain.Wrap(domain.KindUpstream, fmt.Errorf("jscode2session: %w", errcode(-1))))
	fake.FailCode("slow", domain.Wrap(domain.KindUpstreamTimeout, errors.New("deadline")))
	wc := m.WeChat(fake)
	ctx := context.Background()
	for _, code := range []string{"busy", "busy", "slow"} {
		if _, err := wc.Code2Session(ctx, code); err == nil {
			t.Fatalf("%s: no error", code)
		}
	}
	if _, _, err := wc.StableToken(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := wc.StableToken(ctx, true); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP wxb_access_token_refreshes_total Access tokens fetched from WeChat (stable_token) by app, mode (normal or force) and result.
# TYPE wxb_access_token_refreshes_total counter
wxb_access_token_refreshes_total{app="wxapp",mode="force",result="ok"} 1
wxb_access_token_refreshes_total{app="wxapp",mode="normal",result="ok"} 1
# HELP wxb_wechat_calls_total Calls of WeChat's API by app, endpoint and errcode (0: success; timeout or transport: no answer).
# TYPE wxb_wechat_calls_total counter
wxb_wechat_calls_total{app="wxapp",endpoint="jscode2session",errcode="-1"} 2
wxb_wechat_calls_total{app="wxapp",endpoint="jscode2session",errcode="timeout"} 1
wxb_wechat_calls_total{app="wxapp",endpoint="stable_token",errcode="0"} 2
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wxb_wechat_calls_total", "wxb_access_token_refreshes_total"); err != nil {
		t.Fatal(err)
	}
}

func TestStores_CountErrorsByKindAndNotFoundAsAnAnswer(t *testing.T) {
	m := metrics.New()
	users := portfake.NewUsers()
	u := m.Users(users)
	ctx := context.Background()
	if _, err := u.Get(ctx, domain.Identity{AppID: "wxapp", OpenID: "nobody"}); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("get: %v", err)
	}
	users.SetErr(domain.Wrap(domain.KindUnavailable, errors.New("down")))
	if _, err := u.EnsureUser(ctx, domain.Identity{AppID: "wxapp", OpenID: "o1"}, "", time.Now()); err == nil {
		t.Fatal("no error from a store that is down")
	}
	want := `
# HELP wxb_store_calls_total Store calls by store, operation and result (ok, or the error's kind).
# TYPE wxb_store_calls_total counter
wxb_store_calls_total{op="ensure_user",result="` + domain.KindUnavailable.String() + `",store="users"} 1
wxb_store_calls_total{op="get",result="ok",store="users"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wxb_store_calls_total"); err != nil {
		t.Fatal(err)
	}
}

// The dashboard and the alert rules in docs/ use only names this package
// exports: a renamed metric fails here, not on a dark dashboard.
func TestDocs_UseOnlyExportedNames(t *testing.T) {
	m := metrics.New()
	m.DB("mysql", func() sql.DBStats { return sql.DBStats{} })
	m.RedisPool(func() metrics.PoolStats { return metrics.PoolStats{} })
	m.Gauge("sessions_live", "live sessions", func() float64 { return 0 })
	// Every vector gets a series.
	ctx := context.Background()
	m.ObserveRequest("/login", http.MethodPost, 0, time.Millisecond)
	wc := m.WeChat(portfake.NewWeChat("wxapp"))
	_, _ = wc.Code2Session(ctx, "unknown")
	_, _, _ = wc.StableToken(ctx, false)
	_, _ = m.Users(portfake.NewUsers()).Get(ctx, domain.Identity{})
	lim := m.Limiter("login", refuse{})
	_, _, _ = lim.Allow(ctx, "k")
	push := m.Push()
	push.Received("wxa", false)
	push.Refused("wxa", "signature")
	push.Delivery("wxa", "retry")
	m.PushBacklog(func() float64 { return 0 })
	msgs := m.Messages()
	msgs.Queued("wxa")
	msgs.Attempt("wxa", "failed", 40037)
	m.MessageBacklog(func() float64 { return 0 })
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[f.GetName()+s] = true
			}
		}
	}
	name := regexp.MustCompile(`\b(?:wxb|process|go)_[a-z_]+\b`)
	for _, doc := range []string{"../../docs/grafana-dashboard.json", "../../docs/prometheus-alerts.yml"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		used := name.FindAllString(string(b), -1)
		if len(used) < 5 {
			t.Fatalf("%s: %d metric names", doc, len(used))
		}
		for _, n := range used {
			if !exported[n] {
				t.Errorf("%s uses %s, which is not exported", doc, n)
			}
		}
	}
}

// refuse is a limiter that refuses everything.
type refuse struct{}

func (refuse) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, time.Second, nil
}
