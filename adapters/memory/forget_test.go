package memory

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"wxbackend/domain"
)

// TestUserGoesWithItsLastToken checks the bookkeeping no contract test sees:
// a user's entry stays while any of its tokens does, and goes with the last,
// whether deleted or expired.
func TestUserGoesWithItsLastToken(t *testing.T) {
	st := NewSessionStore(Options{CleanupInterval: 10 * time.Millisecond}, 0, 0, wallClock{})
	ctx := context.Background()
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	users := func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		n := 0
		for _, a := range st.apps {
			n += len(a.users)
		}
		return n
	}
	a, b := domain.TokenDigest{Sum: sha256.Sum256([]byte("a"))}, domain.TokenDigest{Sum: sha256.Sum256([]byte("b"))}
	s := domain.Session{AppID: "wxapp", OpenID: "oForget", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	for _, id := range []domain.TokenDigest{a, b, a} { // a twice: still two tokens
		if err := st.Create(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.Delete(ctx, a)
	if users() != 1 {
		t.Fatal("the user went while a token of it lives")
	}
	_ = st.Delete(ctx, b)
	if users() != 0 {
		t.Fatal("the user stayed after its last token was deleted")
	}

	s.ExpiresAt = time.Now().Add(30 * time.Millisecond)
	if err := st.Create(ctx, a, s); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for users() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the user stayed after its last token expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
