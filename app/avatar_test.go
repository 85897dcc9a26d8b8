package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/sqlstore"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// Tests of avatars (avatar.go).

func TestSetAvatar_StoresReplacesAndDeletesReplaced(t *testing.T) {
	w := newWorld(t, app.Options{})
	alice := w.login(t, "c1", "o1", key1)
	bob := w.login(t, "c2", "o2", key2)
	ctx := context.Background()
	u, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	one := u.Avatar
	if !domain.ValidBlobName(one) || u.Profile.AvatarURL != blobURL+"/"+one || u.UserSet&domain.FieldAvatar == 0 {
		t.Fatalf("after the upload: %+v", u)
	}
	bobs, err := w.svc.SetAvatar(ctx, "", bob, picture(t, 1)) // the same image: an object of bob's own
	if err != nil || bobs.Avatar == one {
		t.Fatalf("the same image again: %q, %v", bobs.Avatar, err)
	}
	two, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobNames(t), ","); strings.Contains(got, one) || !strings.Contains(got, bobs.Avatar) {
		t.Fatalf("after alice's replacement: %s", got)
	}
	if _, err := w.svc.SetAvatar(ctx, "", bob, picture(t, 3)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobNames(t), ","); strings.Contains(got, bobs.Avatar) || len(w.blobNames(t)) != 2 {
		t.Fatalf("an avatar nobody has was kept: %s", got)
	}
	me, err := w.svc.Me(ctx, "", alice)
	if err != nil || me.Profile.AvatarURL != blobURL+"/"+two.Avatar {
		t.Fatalf("me: %+v, %v", me.Profile, err)
	}
	blob, err := w.svc.Avatar(ctx, two.Avatar)
	if err != nil || blob.ContentType != "image/jpeg" || len(blob.Data) == 0 {
		t.Fatalf("the stored avatar: %q, %d bytes, %v", blob.ContentType, len(blob.Data), err)
	}
	// An anonymous payload's grey avatar does not replace the upload.
	if u, err := w.svc.SaveUserInfo(ctx, "", alice, w.sealed(t, key1, "o1", `"avatarUrl":"`+greyAvatar+`"`)); err != nil || u.Profile.AvatarURL != me.Profile.AvatarURL {
		t.Fatalf("after an anonymous payload: %+v, %v", u.Profile, err)
	}
}

func TestSetAvatar_FailuresWriteNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	for name, c := range map[string]struct {
		data []byte
		kind domain.Kind
	}{
		"empty":    {nil, domain.KindInvalidInput},
		"no image": {[]byte("<script>"), domain.KindInvalidInput},
		"bomb":     {imagingtest.PNGHeader(60000, 60000), domain.KindTooLarge},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.SetAvatar(ctx, "", tok, c.data)
		if domain.KindOf(err) != c.kind || w.users.WriteCount() != before || len(w.blobNames(t)) != 0 {
			t.Errorf("%s: %v, writes %d → %d, blobs %v", name, err, before, w.users.WriteCount(), w.blobNames(t))
		}
	}

	// Object storage that is down (a store that fails on demand).
	blobs := portfake.NewBlobs()
	down := newWorld(t, app.Options{}, withBlobs(blobs))
	tok = down.login(t, "c1", "o1", key1)
	blobs.SetErr(domain.Wrap(domain.KindUnavailable, errors.New("object storage down")))
	before := down.users.WriteCount()
	_, err := down.svc.SetAvatar(ctx, "", tok, picture(t, 1))
	wantKind(t, err, domain.KindUnavailable)
	if down.users.WriteCount() != before {
		t.Fatal("a failed store changed the profile")
	}
}

// sqliteUsers is the real SQL user store, on SQLite in a temporary
// directory: it honours cancellation as every database does.
func sqliteUsers(t *testing.T) ports.UserRepo {
	t.Helper()
	var o sqlstore.Options
	setting.Defaults(&o)
	o.DSN = sqlstore.DSN("file:" + filepath.Join(t.TempDir(), "users.db"))
	st, err := sqlstore.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st.Users
}

// Two users replacing avatars at once never take the other's away: alice
// replaces the picture bob is choosing at that moment. With names by
// content, alice's replacement found the picture unused and deleted it
// just before bob's row pointed at it (the issue saw it in 2 of 25 runs).
func TestSetAvatar_ConcurrentReplacementsKeepEveryUsersAvatar(t *testing.T) {
	w := newWorld(t, app.Options{}, withUsers(sqliteUsers(t)))
	alice := w.login(t, "c1", "o1", key1)
	bob := w.login(t, "c2", "o2", key2)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		shared, next := picture(t, uint8(2*i)), picture(t, uint8(2*i+1))
		if _, err := w.svc.SetAvatar(ctx, "", alice, shared); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var aliceErr, bobErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, aliceErr = w.svc.SetAvatar(ctx, "", alice, next) }()
		go func() { defer wg.Done(); _, bobErr = w.svc.SetAvatar(ctx, "", bob, shared) }()
		wg.Wait()
		if aliceErr != nil || bobErr != nil {
			t.Fatal(aliceErr, bobErr)
		}
		for who, tok := range map[string]string{"alice": alice, "bob": bob} {
			me, err := w.svc.Me(ctx, "", tok)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Avatar(ctx, me.Avatar); err != nil {
				t.Fatalf("run %d: %s's avatar %s: %v", i, who, me.Avatar, err)
			}
		}
	}
}

// cancelAfterPut is a blob store whose client goes away the moment the
// image is stored: it cancels the request's context after each Put.
type cancelAfterPut struct {
	ports.BlobStore
	cancel context.CancelFunc
}

func (c cancelAfterPut) Put(ctx context.Context, name, contentType string, data []byte) error {
	defer c.cancel()
	return c.BlobStore.Put(ctx, name, contentType, data)
}

// An upload whose client disconnects after the image is stored, so that the
// user's row is never written, leaves no file behind (the issue found 6 in
// one run).
func TestSetAvatar_DisconnectAfterStoringLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	disk, err := localfs.New(localfs.Options{Dir: dir, PublicURL: blobURL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newWorld(t, app.Options{}, withUsers(sqliteUsers(t)), withBlobs(cancelAfterPut{disk, cancel}))
	w.blobDir = dir
	tok := w.login(t, "c1", "o1", key1)
	if _, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 1)); err == nil {
		t.Fatal("an upload whose client went away was saved")
	}
	if names := w.blobNames(t); len(names) != 0 {
		t.Fatalf("left behind: %v", names)
	}
	me, err := w.svc.Me(context.Background(), "", tok)
	if err != nil || me.Avatar != "" {
		t.Fatalf("the user after it: %q, %v", me.Avatar, err)
	}
}

// Names say nothing about the image: the same picture uploaded twice (by
// one user or two) gets two names, and neither is its digest, so nobody can
// compute a photo's name and learn whether a user has it.
func TestSetAvatar_NamesAreNotTheContentDigest(t *testing.T) {
	w := newWorld(t, app.Options{})
	alice := w.login(t, "c1", "o1", key1)
	bob := w.login(t, "c2", "o2", key2)
	ctx := context.Background()
	a, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.svc.SetAvatar(ctx, "", bob, picture(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	if a.Avatar == b.Avatar || !domain.ValidBlobName(a.Avatar) || !domain.ValidBlobName(b.Avatar) {
		t.Fatalf("names %q and %q", a.Avatar, b.Avatar)
	}
	blob, err := w.svc.Avatar(ctx, a.Avatar)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob.Data)
	if strings.HasPrefix(a.Avatar, hex.EncodeToString(sum[:])) {
		t.Fatalf("%s is the digest of its image", a.Avatar)
	}
}

// lostAnswer is a user store whose updates land but whose answers are lost
// (a connection cut after the commit).
type lostAnswer struct{ ports.UserRepo }

var errLost = domain.Wrap(domain.KindUnavailable, errors.New("connection reset after commit"))

func (l lostAnswer) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	if _, err := l.UserRepo.UpdateUser(ctx, id, update); err != nil {
		return domain.User{}, err
	}
	return domain.User{}, errLost
}

// An upload whose user update failed deletes its image only if the user
// does not point at it: an update whose answer was lost may have landed,
// and then the image is the user's avatar.
func TestSetAvatar_AFailedUpdateThatLandedKeepsTheImage(t *testing.T) {
	users := portfake.NewUsers()
	w := newWorld(t, app.Options{}, withUsers(lostAnswer{users}))
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	if _, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 1)); !errors.Is(err, errLost) {
		t.Fatalf("the upload: %v", err)
	}
	u, err := users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
	if err != nil || u.Avatar == "" {
		t.Fatalf("the user: %+v, %v", u, err)
	}
	if _, err := w.svc.Avatar(ctx, u.Avatar); err != nil {
		t.Fatalf("the avatar the user has: %v", err)
	}
}
