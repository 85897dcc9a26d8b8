package wiring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/testenv"
	"wxbackend/adapters/wechat/sandbox"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/domain"
)

// An operator logs a user out everywhere from the command line.
func TestLogoutEverywhere_EndsEveryRedisSession(t *testing.T) {
	addr := testenv.Get("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379")
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg := config.Default()
	cfg.Sessions.Store, cfg.Redis.Addrs, cfg.Redis.KeyPrefix, cfg.Sandbox.Enabled = "redis", []string{addr}, "wxbtest:cli:"+hex.EncodeToString(b[:])+":", true
	st, err := redisstore.NewSessionStore(cfg.Redis, 0, 0, system.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Ping(ctx); err != nil {
		testenv.Unreachable(t, "Redis", err)
	}
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	var ids []domain.TokenDigest
	for i := 0; i < 3; i++ {
		s := domain.Session{AppID: sandbox.DefaultAppID, OpenID: "oStolenPhone", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
		d := domain.TokenDigest{Tag: domain.UserTag(s.Identity())}
		_, _ = rand.Read(d.Sum[:])
		ids = append(ids, d)
		if err := st.Create(ctx, d, s); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := wiring.LogoutEverywhere(cfg, "oStolenPhone", &out); err != nil || !strings.Contains(out.String(), "oStolenPhone") {
		t.Fatalf("%v: %s", err, &out)
	}
	for _, id := range ids {
		if _, err := st.Get(ctx, id); domain.KindOf(err) != domain.KindUnauthenticated {
			t.Fatalf("a session survived: %v", err)
		}
	}
	cfg.Sessions.Store = "memory"
	if err := wiring.LogoutEverywhere(cfg, "oStolenPhone", &out); err == nil || !strings.Contains(err.Error(), "all=true") {
		t.Fatalf("with memory sessions: %v", err)
	}
}
