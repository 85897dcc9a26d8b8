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
	// before the grace period; Unused how many of those no user has;
	// Deleted how many of those were deleted; Failed how many could not be
	// (each logged, and left for the next collection).
	Listed, Old, Unused, Deleted, Failed int
}

// CollectOptions tune one collection.
type CollectOptions struct {
	// Grace is how old an unused blob must be (at least MinAvatarGrace).
	Grace time.Duration
	// DryRun counts what would be deleted, and deletes nothing.
	DryRun bool
	// Force deletes even when most stored avatars look unused (see
	// ErrMostAvatarsUnused).
	Force bool
}

// ErrMostAvatarsUnused stops a collection that would delete more than half
// of the stored avatars (and at least guardMin): far more than crashes and
// failed deletes leave, and what a server or command pointed at the wrong
// user database would do (an empty one has no user for any avatar).
var ErrMostAvatarsUnused = errors.New("most stored avatars have no user in this database: nothing deleted (is WXB_DB_DSN the server's database? to delete them anyway, run wxbackend avatars collect --force)")

// guardMin is the fewest unused avatars the ErrMostAvatarsUnused guard
// looks at: a small store may well be mostly unused.
const guardMin = 20

// Handle deletes every stored avatar that no user has and that was stored
// more than o.Grace ago (at least MinAvatarGrace, else KindInvalidInput),
// unless most stored avatars look unused (ErrMostAvatarsUnused, unless
// o.Force) or o.DryRun. It returns what it found and did, and an error when
// the listing or the users could not be read (nothing is deleted then) or
// when a delete failed (the others went on).
func (c *CollectAvatars) Handle(ctx context.Context, o CollectOptions) (AvatarCollection, error) {
	var res AvatarCollection
	if o.Grace < MinAvatarGrace {
		return res, domain.Malformed("grace", fmt.Sprintf("must be at least %v: a younger image may be an upload's in progress", MinAvatarGrace))
	}
	if c.blobs == nil {
		return res, domain.Wrap(domain.KindInternal, errors.New("avatars are not configured"))
	}
	unused, err := c.unused(ctx, c.clock.Now().Add(-o.Grace), &res)
	if err != nil {
		return res, err
	}
	res.Unused = len(unused)
	if o.DryRun {
		return res, nil
	}
	if !o.Force && res.Unused >= guardMin && 2*res.Unused > res.Listed {
		return res, ErrMostAvatarsUnused
	}
	var firstFailure error
	for _, name := range unused {
		if err := c.blobs.Delete(ctx, name); err != nil {
			if ctx.Err() != nil {
				return res, err
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
	if firstFailure != nil {
		return res, fmt.Errorf("%d of %d unused avatars not deleted, the first: %w", res.Failed, res.Unused, firstFailure)
	}
	return res, nil
}

// unused lists the stored blobs older than cutoff that no user has, asking
// the users in batches, and counts what it listed in res.
func (c *CollectAvatars) unused(ctx context.Context, cutoff time.Time, res *AvatarCollection) ([]string, error) {
	var unused []string
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
			if !inUse[name] {
				unused = append(unused, name)
			}
		}
		batch = batch[:0]
		return nil
	}
	for info, err := range c.blobs.List(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list avatars: %w", err)
		}
		res.Listed++
		if !info.StoredAt.Before(cutoff) {
			continue
		}
		res.Old++
		if batch = append(batch, info.Name); len(batch) == collectBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return unused, nil
}
