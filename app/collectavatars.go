package app

// CollectAvatars deletes stored avatars no user has, for an operator
// (wxbackend avatars collect) and on a schedule in the server. An upload
// deletes its image when it fails, and a replaced avatar is deleted at once
// (avatar.go); what escapes both (a crash between storing an image and
// writing its user, a delete that failed) is found here.
//
// It is safe beside uploads and beside other collectors: names are random
// and one per upload, so a blob no user has, once its upload is over, is
// never used again; an upload in progress is protected by the grace period
// (its image is younger than that until its user points at it); and deletes
// are idempotent, so several servers collecting at once delete each blob
// at most once and report no error for it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// MinAvatarGrace is the shortest grace period a collection accepts: far
// longer than any upload takes between storing its image and writing its
// user, so a collection never deletes an image an upload is about to use.
const MinAvatarGrace = time.Minute

// collectBatch is how many old blobs are checked against the users at once.
const collectBatch = 500

// CollectAvatars collects unused avatars.
type CollectAvatars struct {
	users ports.UserRepo
	blobs ports.BlobStore // nil: avatars are not configured
	clock ports.Clock
	log   *slog.Logger
}

// AvatarCollection is what a collection found and did.
type AvatarCollection struct {
	// Listed is how many blobs are stored; Old how many of them were stored
	// before the grace period; Deleted how many of those no user had, now
	// deleted; Failed how many no user had but could not be deleted (each
	// logged, and left for the next collection).
	Listed, Old, Deleted, Failed int
}

// Handle deletes every stored avatar that no user has and that was stored
// more than grace ago (at least MinAvatarGrace, else KindInvalidInput). It
// returns what it did, and an error when the listing or the users could not
// be read (the collection stops there: what it did is still counted) or
// when a delete failed (the others went on).
func (c *CollectAvatars) Handle(ctx context.Context, grace time.Duration) (AvatarCollection, error) {
	var res AvatarCollection
	if grace < MinAvatarGrace {
		return res, domain.Malformed("grace", fmt.Sprintf("must be at least %v: a younger image may be an upload's in progress", MinAvatarGrace))
	}
	if c.blobs == nil {
		return res, domain.Wrap(domain.KindInternal, errors.New("avatars are not configured"))
	}
	cutoff := c.clock.Now().Add(-grace)
	var firstFailure error
	batch := make([]string, 0, collectBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		inUse, err := c.users.AvatarsInUse(ctx, batch)
		if err != nil {
			return fmt.Errorf("avatars in use: %w", err)
		}
		for _, name := range batch {
			if inUse[name] {
				continue
			}
			if err := c.blobs.Delete(ctx, name); err != nil {
				if ctx.Err() != nil {
					return err
				}
				res.Failed++
				if firstFailure == nil {
					firstFailure = err
				}
				c.log.LogAttrs(ctx, slog.LevelWarn, "unused avatar not deleted", slog.String("object", name), slog.String("error", err.Error()))
				continue
			}
			res.Deleted++
		}
		batch = batch[:0]
		return nil
	}
	for info, err := range c.blobs.List(ctx) {
		if err != nil {
			return res, fmt.Errorf("list avatars: %w", err)
		}
		res.Listed++
		if !info.StoredAt.Before(cutoff) {
			continue
		}
		res.Old++
		if batch = append(batch, info.Name); len(batch) == collectBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if firstFailure != nil {
		return res, fmt.Errorf("%d of %d unused avatars not deleted, the first: %w", res.Failed, res.Failed+res.Deleted, firstFailure)
	}
	return res, nil
}
