package porttest

import (
	"bytes"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// TestBlobStore runs the BlobStore contract against the stores newStore
// returns (each empty, or at least holding none of the names the suite
// makes).
func TestBlobStore(t *testing.T, newStore func(t *testing.T) ports.BlobStore) {
	blob := func(t *testing.T) ([]byte, string) {
		t.Helper()
		data := make([]byte, 2048)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		return data, randomBlobName(t)
	}

	t.Run("PutThenGetGivesTheBytesAndType", func(t *testing.T) {
		st := newStore(t)
		data, name := blob(t)
		if err := st.Put(ctx(t), name, "image/jpeg", data); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx(t), name)
		if err != nil || !bytes.Equal(got.Data, data) || got.ContentType != "image/jpeg" {
			t.Fatalf("got %d bytes of %q, %v", len(got.Data), got.ContentType, err)
		}
	})

	t.Run("PutIsIdempotent", func(t *testing.T) {
		st := newStore(t)
		data, name := blob(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ { // at once, as retries of one upload
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.Put(ctx(t), name, "image/jpeg", data)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, err := st.Get(ctx(t), name); err != nil || !bytes.Equal(got.Data, data) {
			t.Fatalf("after concurrent puts: %d bytes, %v", len(got.Data), err)
		}
	})

	t.Run("MissingIsNotFound", func(t *testing.T) {
		_, name := blob(t)
		_, err := newStore(t).Get(ctx(t), name)
		wantKind(t, err, domain.KindNotFound)
	})

	t.Run("DeleteRemovesAndMissingIsNoError", func(t *testing.T) {
		st := newStore(t)
		data, name := blob(t)
		other, otherName := blob(t)
		for n, d := range map[string][]byte{name: data, otherName: other} {
			if err := st.Put(ctx(t), n, "image/jpeg", d); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Delete(ctx(t), name); err != nil {
			t.Fatal(err)
		}
		_, err := st.Get(ctx(t), name)
		wantKind(t, err, domain.KindNotFound)
		if _, err := st.Get(ctx(t), otherName); err != nil {
			t.Fatalf("another blob went too: %v", err)
		}
		if err := st.Delete(ctx(t), name); err != nil {
			t.Fatalf("deleting a missing blob: %v", err)
		}
	})

	t.Run("ListGivesEveryBlobWithWhenItWasStored", func(t *testing.T) {
		st := newStore(t)
		kept := map[string]bool{}
		var gone string
		for i := 0; i < 3; i++ {
			data, name := blob(t)
			if err := st.Put(ctx(t), name, "image/jpeg", data); err != nil {
				t.Fatal(err)
			}
			kept[name] = true
			gone = name
		}
		delete(kept, gone)
		if err := st.Delete(ctx(t), gone); err != nil {
			t.Fatal(err)
		}
		// Loose bounds: the storage's clock is not this machine's.
		now := time.Now()
		seen := map[string]bool{}
		for info, err := range st.List(ctx(t)) {
			if err != nil {
				t.Fatal(err)
			}
			if kept[info.Name] && (info.StoredAt.Before(now.Add(-time.Hour)) || info.StoredAt.After(now.Add(time.Hour))) {
				t.Errorf("%s stored at %v, now is %v", info.Name, info.StoredAt, now)
			}
			if seen[info.Name] {
				t.Errorf("%s listed twice", info.Name)
			}
			seen[info.Name] = true
		}
		for name := range kept {
			if !seen[name] {
				t.Errorf("%s not listed", name)
			}
		}
		if seen[gone] {
			t.Errorf("the deleted %s listed", gone)
		}
		// A caller may stop early.
		n := 0
		for _, err := range st.List(ctx(t)) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			break
		}
		if n != 1 {
			t.Fatalf("stopped after %d", n)
		}
	})

	t.Run("URLNamesTheBlob", func(t *testing.T) {
		_, name := blob(t)
		u, err := newStore(t).URL(ctx(t), name)
		if err != nil || !strings.HasPrefix(u, "http") || !strings.Contains(u, name) {
			t.Fatalf("URL %q, %v", u, err)
		}
	})
}

// randomBlobName returns a new blob name, as an upload gets one.
func randomBlobName(t *testing.T) string {
	t.Helper()
	var b [domain.BlobNameBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return domain.NewBlobName(b, ".jpg")
}
