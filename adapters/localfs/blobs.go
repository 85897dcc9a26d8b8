// Package localfs keeps blobs (avatar images) as files in a local
// directory: the embedded default, which make run uses and this server
// serves under /media/avatars/. Several servers need a shared directory or
// the S3 store.
package localfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options are the local store's settings (see config/setting).
type Options struct {
	Dir       string `setting:"avatar-dir" default:"data/avatars" usage:"directory the local avatar store keeps images in (created if missing)"`
	PublicURL string `setting:"avatar-public-url" usage:"URL prefix under which clients fetch locally stored avatars: this server's public address + /media/avatars (empty: http://WXB_HTTP_ADDR/media/avatars, for a server on loopback)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	if o.Dir == "" {
		p.Add(&o.Dir, "is required")
	}
	if o.PublicURL != "" && !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		p.Add(&o.PublicURL, "%q is not an http(s) URL", o.PublicURL)
	}
}

// Blobs implements ports.BlobStore on a directory: <dir>/<first two hex
// digits>/<name>, so no directory grows past a few thousand entries.
type Blobs struct {
	dir       string
	publicURL string
}

var _ ports.BlobStore = (*Blobs)(nil)

// New returns a store on o.Dir, creating it.
func New(o Options) (*Blobs, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	return &Blobs{dir: o.Dir, publicURL: strings.TrimRight(o.PublicURL, "/")}, nil
}

// path returns the file of name; a name that is not a blob name has none,
// so nothing outside the directory can be named.
func (b *Blobs) path(name string) (string, error) {
	if !domain.ValidBlobName(name) {
		return "", domain.Malformed("name", "not a blob name")
	}
	return filepath.Join(b.dir, name[:2], name), nil
}

// Put implements ports.BlobStore: written to a temporary file, synced, then
// renamed into place, so a reader never sees half a file.
func (b *Blobs) Put(_ context.Context, name, _ string, data []byte) error {
	p, err := b.path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil // content-addressed: already there
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fail("put", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fail("put", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fail("put", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail("put", err)
	}
	if err := tmp.Close(); err != nil {
		return fail("put", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fail("put", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fail("put", err)
	}
	return nil
}

// Get implements ports.BlobStore; the content type follows the name's
// extension.
func (b *Blobs) Get(_ context.Context, name string) (ports.Blob, error) {
	p, err := b.path(name)
	if err != nil {
		return ports.Blob{}, domain.ErrNotFound
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return ports.Blob{}, domain.ErrNotFound
	}
	if err != nil {
		return ports.Blob{}, fail("get", err)
	}
	return ports.Blob{Data: data, ContentType: mime.TypeByExtension(filepath.Ext(name))}, nil
}

// Delete implements ports.BlobStore.
func (b *Blobs) Delete(_ context.Context, name string) error {
	p, err := b.path(name)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("delete", err)
	}
	return nil
}

// List implements ports.BlobStore: a walk of the directory, each blob with
// its file's modification time (when Put renamed it into place).
// Temporary files of a Put under way, or of one a crash cut short, are
// skipped.
func (b *Blobs) List(ctx context.Context) iter.Seq2[ports.BlobInfo, error] {
	return func(yield func(ports.BlobInfo, error) bool) {
		stopped := errors.New("stopped")
		err := filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p != b.dir {
					return nil // removed while walking
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() || !domain.ValidBlobName(name) || filepath.Base(filepath.Dir(p)) != name[:2] {
				return nil
			}
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted since the directory was read
			}
			if err != nil {
				return err
			}
			if !yield(ports.BlobInfo{Name: name, StoredAt: info.ModTime().UTC()}, nil) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			if ctx.Err() == nil {
				err = fail("list", err)
			}
			yield(ports.BlobInfo{}, err)
		}
	}
}

// URL implements ports.BlobStore.
func (b *Blobs) URL(_ context.Context, name string) (string, error) {
	return b.publicURL + "/" + name, nil
}

// fail wraps a file system error: the store is unavailable (a full or
// read-only disk, a lost mount), code 9.
func fail(op string, err error) error {
	return domain.Wrap(domain.KindUnavailable, fmt.Errorf("localfs %s: %w", op, err))
}
