package localfs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wxbackend/adapters/localfs"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestBlobs_Contract(t *testing.T) {
	porttest.TestBlobStore(t, func(t *testing.T) ports.BlobStore {
		st, err := localfs.New(localfs.Options{Dir: t.TempDir(), PublicURL: "http://127.0.0.1:8080/media/avatars"})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// Names from a URL cannot reach outside the directory, and a write leaves
// no temporary file behind.
func TestBlobs_NamesStayInsideAndNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := localfs.New(localfs.Options{Dir: filepath.Join(dir, "avatars"), PublicURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.jpg"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"../secret.jpg", "../../etc/passwd", "/etc/passwd", "..", ""} {
		if _, err := st.Get(ctx, name); domain.KindOf(err) != domain.KindNotFound {
			t.Errorf("Get %q: %v", name, err)
		}
		if err := st.Put(ctx, name, "image/jpeg", []byte("x")); err == nil {
			t.Errorf("Put %q accepted", name)
		}
	}
	name := domain.NewBlobName([domain.BlobNameBytes]byte{1}, ".jpg")
	if err := st.Put(ctx, name, "image/jpeg", []byte("pixels")); err != nil {
		t.Fatal(err)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 2 { // secret.jpg and the blob
		t.Fatalf("files: %v", files)
	}
}

// A store whose disk refuses writes is unavailable (code 9).
func TestBlobs_ReadOnlyDiskIsUnavailable(t *testing.T) {
	if os.Geteuid() == 0 {
		dir := t.TempDir()
		st, err := localfs.New(localfs.Options{Dir: dir, PublicURL: "http://x"})
		if err != nil {
			t.Fatal(err)
		}
		// root ignores permissions: make the shard directory a file instead.
		name := domain.NewBlobName([domain.BlobNameBytes]byte{2}, ".jpg")
		if err := os.WriteFile(filepath.Join(dir, name[:2]), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), name, "image/jpeg", []byte("x")); domain.KindOf(err) != domain.KindUnavailable {
			t.Fatalf("%v, want unavailable", err)
		}
		return
	}
	dir := t.TempDir()
	st, err := localfs.New(localfs.Options{Dir: dir, PublicURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if err := st.Put(context.Background(), domain.NewBlobName([domain.BlobNameBytes]byte{2}, ".jpg"), "image/jpeg", []byte("x")); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("%v, want unavailable", err)
	}
}

// A listing holds blobs only: not the temporary file of a Put under way
// (or of one a crash cut short), not a file of another name, not a blob
// in the wrong shard directory; and each comes with its file's time.
func TestBlobs_ListSkipsWhatIsNotABlob(t *testing.T) {
	dir := t.TempDir()
	st, err := localfs.New(localfs.Options{Dir: dir, PublicURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := domain.NewBlobName([domain.BlobNameBytes]byte{0xab}, ".jpg")
	if err := st.Put(ctx, name, "image/jpeg", []byte("x")); err != nil {
		t.Fatal(err)
	}
	stored := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "ab", name), stored, stored); err != nil {
		t.Fatal(err)
	}
	misplaced := domain.NewBlobName([domain.BlobNameBytes]byte{0xcd}, ".jpg")
	for _, f := range []string{"ab/.put-123", "ab/notes.txt", "ab/" + misplaced, "README"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []ports.BlobInfo
	for info, err := range st.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info)
	}
	if len(got) != 1 || got[0].Name != name || !got[0].StoredAt.Equal(stored) {
		t.Fatalf("listed %v", got)
	}
}
