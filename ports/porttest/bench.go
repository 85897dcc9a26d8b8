package porttest

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// BenchSessionStore measures a SessionStore from parallel goroutines: Create
// (a login's token issue) and Get (every authenticated request's lookup) over
// users distinct users.
func BenchSessionStore(b *testing.B, st ports.SessionStore, users int) {
	ctx := context.Background()
	key := randomKey(b)
	prefix := randomDigest(b)
	var n atomic.Uint64
	session := func(i uint64) domain.Session {
		return domain.Session{AppID: "wxbench00000000001", OpenID: fmt.Sprintf("oBench%022d", i%uint64(users)),
			SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	}
	digest := func(i uint64) domain.TokenDigest { // tagged, as the tokens logins issue
		d := prefix
		binary.BigEndian.PutUint64(d.Sum[:8], i)
		d.Tag = domain.UserTag(session(i).Identity())
		return d
	}
	b.Run("Create", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if err := st.Create(ctx, digest(i), session(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	live := uint64(users)
	base := n.Add(live) - live
	for i := base; i < base+live; i++ {
		if err := st.Create(ctx, digest(i), session(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		var m atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.Get(ctx, digest(base+m.Add(1)%live)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
