package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

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
