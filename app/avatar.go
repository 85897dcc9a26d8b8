package app

// SetAvatar keeps an image the user chose as their avatar
// (<button open-type="chooseAvatar">): checked and re-encoded by the image
// processor, stored under a fresh random name, then recorded on the user.
// Avatar reads a stored one back, for the server that serves them.
//
// A blob's lifetime is its one owner's: names are random, one per upload,
// so no two users ever share a blob, and no new reference to a stored name
// can appear after its upload. A replaced or erased avatar is deleted at
// once; an upload that fails after storing its image deletes it; what a
// crash leaves behind, CollectAvatars finds.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// SetAvatar sets avatars.
type SetAvatar struct {
	images  ports.ImageProcessor // nil: avatars are not configured
	avatars avatarBin
	writer  userWriter
	names   ports.TokenSource
	clock   ports.Clock
	show    presenter
	checks  mediaChecks // the apps whose avatars WeChat checks first (mediacheck.go)
}

// Handle stores image as the session's user's avatar, and deletes the
// avatar it replaces. A blob store that fails leaves the profile as it was
// (code 9); the image is stored before the user points at it, so no user
// points at a missing image; and when the user is not updated after all
// (the client went away, the database failed), the image is deleted again.
func (s *SetAvatar) Handle(ctx context.Context, sess domain.Session, image []byte) (domain.User, error) {
	if len(image) == 0 {
		return domain.User{}, domain.Missing("avatar")
	}
	if s.avatars.blobs == nil || s.images == nil {
		return domain.User{}, domain.Wrap(domain.KindInternal, errors.New("avatars are not configured"))
	}
	img, ext, err := s.images.Avatar(ctx, image)
	if err != nil {
		return domain.User{}, err
	}
	name, err := s.names.NewBlobName(ext)
	if err != nil {
		return domain.User{}, domain.Wrap(domain.KindInternal, fmt.Errorf("name avatar: %w", err))
	}
	if err := s.avatars.blobs.Put(ctx, name, img.ContentType, img.Data); err != nil {
		s.avatars.release(ctx, name, "abandoned") // a Put cut short may have stored it
		return domain.User{}, fmt.Errorf("store avatar: %w", err)
	}
	var trace string // the check's, when WeChat checks the app's avatars: the new one is pending
	if s.checks.on(sess.AppID) {
		if trace, err = s.checks.submit(ctx, sess, name); err != nil {
			s.avatars.release(ctx, name, "abandoned")
			return domain.User{}, err
		}
	}
	now := s.clock.Now()
	var replaced string
	u, err := s.writer.update(ctx, sess, "set avatar", func(u *domain.User) (bool, error) {
		if trace != "" {
			replaced = u.SubmitAvatar(name, trace, now) // a pending one it replaces
		} else {
			replaced = u.SetAvatar(name)
		}
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		s.avatars.release(ctx, name, "abandoned")
		return domain.User{}, err
	}
	if replaced != "" {
		s.avatars.release(ctx, replaced, "replaced")
	}
	return s.show.present(ctx, u), nil
}

// Avatar reads stored avatars.
type Avatar struct {
	blobs ports.BlobStore // nil: none are stored
}

// Handle returns a stored avatar image by name. A name that is not a blob
// name, or not stored, is KindNotFound.
func (a *Avatar) Handle(ctx context.Context, name string) (ports.Blob, error) {
	if !domain.ValidBlobName(name) || a.blobs == nil {
		return ports.Blob{}, domain.ErrNotFound
	}
	return a.blobs.Get(ctx, name)
}

// cleanupTimeout bounds the deletes done after a request's client may have
// gone: they run on a context of their own, detached from the request's.
const cleanupTimeout = 10 * time.Second

// avatarBin deletes avatars no user has any more.
type avatarBin struct {
	users ports.UserRepo
	blobs ports.BlobStore
	log   *slog.Logger
}

// release deletes an avatar its user no longer has (what: "replaced",
// "erased"), or the new one of an upload that failed after storing it
// ("abandoned"), even when the request's client has gone. It is deleted
// unless a user has it: a failed upload's row may point at it after all
// (an update whose answer was lost: its commit may have landed), and a name
// made by content before names were random may be another user's (the same
// picture uploaded twice). No new reference to a stored name can appear, so
// the check cannot be overtaken. A failure leaves an unused object behind,
// which costs storage but breaks nothing: it is logged, the request still
// answers as it would, and CollectAvatars deletes the object later.
func (b avatarBin) release(ctx context.Context, name, what string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	inUse, err := b.users.AvatarsInUse(ctx, []string{name})
	if err == nil && !inUse[name] {
		err = b.blobs.Delete(ctx, name)
	}
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, what+" avatar not deleted", slog.String("object", name), slog.String("error", err.Error()))
	}
}
