package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// Tests of avatars (avatar.go).

func TestSetAvatar_StoresReplacesAndDeletesUnused(t *testing.T) {
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
	if u, err := w.svc.SetAvatar(ctx, "", bob, picture(t, 1)); err != nil || u.Avatar != one { // the same image: one object
		t.Fatalf("the same image again: %q, %v", u.Avatar, err)
	}
	two, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobNames(t), ","); !strings.Contains(got, one) {
		t.Fatalf("an avatar bob still has was deleted: %s", got)
	}
	if _, err := w.svc.SetAvatar(ctx, "", bob, picture(t, 3)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.blobNames(t), ","); strings.Contains(got, one) || len(w.blobNames(t)) != 2 {
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
