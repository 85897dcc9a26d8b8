package memory_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/domain"
	"wxbackend/ports/porttest"
)

func BenchmarkSessionStore(b *testing.B) {
	st := memory.NewSessionStore(memory.Options{CleanupInterval: time.Minute}, 0, 0, system.Clock{})
	porttest.BenchSessionStore(b, st, 10_000)
}

// BenchmarkHeapPerSession fills a store with 1,000,000 live sessions of
// distinct users (each a token and a user entry) and reports the heap they
// hold, the openids they keep included. Run it with -benchtime=1x.
func BenchmarkHeapPerSession(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	key, _ := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(make([]byte, 16)))
	const appID = "wxbench00000000001"
	for b.Loop() {
		before := heap()
		st := memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, system.Clock{})
		expires := time.Now().Add(time.Hour)
		for i := 0; i < n; i++ {
			var seed [8]byte
			binary.BigEndian.PutUint64(seed[:], uint64(i))
			if err := st.Create(ctx, domain.TokenDigest{Sum: sha256.Sum256(seed[:])}, domain.Session{AppID: appID, OpenID: fmt.Sprintf("oBench%022d", i), SessionKey: key, ExpiresAt: expires}); err != nil {
				b.Fatal(err)
			}
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/session")
		runtime.KeepAlive(st)
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
