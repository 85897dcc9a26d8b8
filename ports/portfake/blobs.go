package portfake

import (
	"context"
	"iter"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Blobs is a BlobStore in a map that fails on demand (SetErr). Like object
// storage, it stamps a blob with the wall clock when it is stored. Where no
// test makes the store fail, use adapters/localfs in a temp dir.
type Blobs struct {
	mu     sync.Mutex
	blobs  map[string]ports.Blob
	stored map[string]time.Time
	err    error
}

// NewBlobs returns an empty store.
func NewBlobs() *Blobs { return &Blobs{blobs: map[string]ports.Blob{}, stored: map[string]time.Time{}} }

// Put implements ports.BlobStore.
func (b *Blobs) Put(_ context.Context, name, contentType string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if _, ok := b.blobs[name]; ok {
		return nil
	}
	b.blobs[name] = ports.Blob{Data: append([]byte(nil), data...), ContentType: contentType}
	b.stored[name] = time.Now()
	return nil
}

// Get implements ports.BlobStore.
func (b *Blobs) Get(_ context.Context, name string) (ports.Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return ports.Blob{}, b.err
	}
	blob, ok := b.blobs[name]
	if !ok {
		return ports.Blob{}, domain.ErrNotFound
	}
	return blob, nil
}

// Delete implements ports.BlobStore.
func (b *Blobs) Delete(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	delete(b.blobs, name)
	delete(b.stored, name)
	return nil
}

// List implements ports.BlobStore, on a copy taken at its start.
func (b *Blobs) List(_ context.Context) iter.Seq2[ports.BlobInfo, error] {
	return func(yield func(ports.BlobInfo, error) bool) {
		b.mu.Lock()
		err := b.err
		infos := make([]ports.BlobInfo, 0, len(b.stored))
		for n, at := range b.stored {
			infos = append(infos, ports.BlobInfo{Name: n, StoredAt: at})
		}
		b.mu.Unlock()
		if err != nil {
			yield(ports.BlobInfo{}, err)
			return
		}
		for _, info := range infos {
			if !yield(info, nil) {
				return
			}
		}
	}
}

// URL implements ports.BlobStore.
func (b *Blobs) URL(_ context.Context, name string) (string, error) {
	return "https://blobs.example/" + name, nil
}

// Names returns the stored names.
func (b *Blobs) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for n := range b.blobs {
		out = append(out, n)
	}
	return out
}

// SetErr makes every call fail with err (nil: work again).
func (b *Blobs) SetErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}
