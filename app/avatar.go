package app

// SetAvatar keeps an image the user chose as their avatar
// (<button open-type="chooseAvatar">): checked and re-encoded by the image
// processor, stored under its content's name, then recorded on the user.
// Avatar reads a stored one back, for the server that serves them.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"wxbackend/domain"
	"wxbackend/ports"
)

// SetAvatar sets avatars.
type SetAvatar struct {
	images  ports.ImageProcessor // nil: avatars are not configured
	avatars avatarBin
	writer  userWriter
	clock   ports.Clock
	show    presenter
}

// Handle stores image as the session's user's avatar. The avatar it replaces
// is deleted once no user has it. A blob store that fails leaves the profile
// as it was (code 9); the image is stored before the user points at it, so
// no user points at a missing image.
func (s *SetAvatar) Handle(ctx context.Context, sess domain.Session, image []byte) (domain.User, error) {
	if len(image) == 0 {
		return domain.User{}, domain.Missing("avatar")
	}
	if s.avatars.blobs == nil || s.images == nil {
		return domain.User{}, domain.Wrap(domain.KindInternal, errors.New("avatars are not configured"))
	}
	img, ext, err := s.images.Avatar(image)
	if err != nil {
		return domain.User{}, err
	}
	name := domain.BlobName(img.Data, ext)
	if err := s.avatars.blobs.Put(ctx, name, img.ContentType, img.Data); err != nil {
		return domain.User{}, fmt.Errorf("store avatar: %w", err)
	}
	now := s.clock.Now()
	var replaced string
	u, err := s.writer.update(ctx, sess, "set avatar", func(u *domain.User) (bool, error) {
		if u.Avatar == name {
			replaced = ""
			return false, nil
		}
		replaced = u.SetAvatar(name)
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	if replaced != "" {
		s.avatars.drop(ctx, replaced)
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

// avatarBin deletes avatars no user has any more.
type avatarBin struct {
	users ports.UserRepo
	blobs ports.BlobStore
	log   *slog.Logger
}

// drop deletes an avatar no user has any more. A failure leaves an unused
// object behind, which costs storage but breaks nothing: it is logged, and
// the request still succeeds.
func (b avatarBin) drop(ctx context.Context, name string) {
	inUse, err := b.users.AvatarInUse(ctx, name)
	if err == nil && !inUse {
		err = b.blobs.Delete(ctx, name)
	}
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, "replaced avatar not deleted", slog.String("object", name), slog.String("error", err.Error()))
	}
}
