package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/localfs"
	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of the avatar collector (collectavatars.go).

// store puts an unused blob into the world's directory, stored at the
// given time, as an upload a crash cut short leaves it.
func (w *world) store(t *testing.T, at time.Time) string {
	t.Helper()
	disk, err := localfs.New(localfs.Options{Dir: w.blobDir, PublicURL: blobURL})
	if err != nil {
		t.Fatal(err)
	}
	name := randomHex(t, domain.BlobNameBytes) + ".jpg"
	if err := disk.Put(context.Background(), name, "image/jpeg", []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	w.age(t, name, at)
	return name
}

// age sets when the stored blob name was stored.
func (w *world) age(t *testing.T, name string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(w.blobDir, name[:2], name), at, at); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// The collector deletes a blob no user has that is older than the grace
// period, and keeps a young one (an upload may be about to use it) and an
// old one a user has.
func TestCollectAvatars_DeletesOnlyOldUnusedBlobs(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	u, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	now := w.clock.Now()
	w.age(t, u.Avatar, now.Add(-48*time.Hour))
	orphan := w.store(t, now.Add(-61*time.Minute))
	young := w.store(t, now.Add(-59*time.Minute))

	got, err := w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour})
	if err != nil || got != (app.AvatarCollection{Listed: 3, Old: 2, Unused: 1, Deleted: 1}) {
		t.Fatalf("collected %+v, %v", got, err)
	}
	left := w.blobNames(t)
	slices.Sort(left)
	want := []string{u.Avatar, young}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v (the orphan %s gone)", left, want, orphan)
	}
	if _, err := w.svc.Avatar(ctx, u.Avatar); err != nil {
		t.Fatalf("the user's avatar: %v", err)
	}
	// Again: nothing more to do.
	if got, err := w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour}); err != nil || got.Deleted != 0 || got.Listed != 2 {
		t.Fatalf("collected again %+v, %v", got, err)
	}
}

// A grace period shorter than an upload may take is refused: it could
// delete an image between its storing and its user's update.
func TestCollectAvatars_RefusesAShortGrace(t *testing.T) {
	w := newWorld(t, app.Options{})
	_, err := w.svc.a.CollectAvatars.Handle(context.Background(), app.CollectOptions{Grace: 30 * time.Second})
	wantKind(t, err, domain.KindInvalidInput)
}

// Several servers collecting at once are harmless: each unused blob is
// deleted, none is reported failed, the used ones stay; and more blobs than
// one batch are all seen.
func TestCollectAvatars_ConcurrentCollectorsAreHarmless(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	u, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	old := w.clock.Now().Add(-2 * time.Hour)
	w.age(t, u.Avatar, old)
	const orphans = 700 // more than a batch
	for i := 0; i < orphans; i++ {
		w.store(t, old)
	}
	var wg sync.WaitGroup
	results := make([]app.AvatarCollection, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Forced: 700 orphans beside one used avatar trip the guard.
			results[i], errs[i] = w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour, Force: true})
		}()
	}
	wg.Wait()
	deleted := 0
	for i, r := range results {
		if errs[i] != nil || r.Failed != 0 {
			t.Fatalf("collector %d: %+v, %v", i, r, errs[i])
		}
		deleted += r.Deleted
	}
	if left := w.blobNames(t); len(left) != 1 || left[0] != u.Avatar || deleted < orphans {
		t.Fatalf("left %v, deleted %d of %d", left, deleted, orphans)
	}
}

// A collection that would delete most stored avatars stops and deletes
// nothing: it is what a server or command pointed at the wrong (say, an
// empty) user database would do. A dry run counts; --force deletes.
func TestCollectAvatars_RefusesWhenMostAvatarsLookUnused(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	old := w.clock.Now().Add(-2 * time.Hour)
	const stored = 30
	for i := 0; i < stored; i++ {
		w.store(t, old)
	}
	got, err := w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour})
	if !errors.Is(err, app.ErrMostAvatarsUnused) || got.Unused != stored || got.Deleted != 0 {
		t.Fatalf("collected %+v, %v; want the guard", got, err)
	}
	if left := w.blobNames(t); len(left) != stored {
		t.Fatalf("%d of %d avatars left after the guard", len(left), stored)
	}
	if got, err := w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour, DryRun: true}); err != nil || got.Unused != stored || got.Deleted != 0 {
		t.Fatalf("dry run %+v, %v", got, err)
	}
	if left := w.blobNames(t); len(left) != stored {
		t.Fatalf("a dry run deleted: %d left", len(left))
	}
	if got, err := w.svc.a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: time.Hour, Force: true}); err != nil || got.Deleted != stored {
		t.Fatalf("forced %+v, %v", got, err)
	}
	if left := w.blobNames(t); len(left) != 0 {
		t.Fatalf("%d left after a forced collection", len(left))
	}
}
