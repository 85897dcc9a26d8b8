package s3blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxbackend/adapters/s3blob"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

// s3Server is an S3-protocol server (gofakes3, in memory) on a loopback
// port, with one bucket: the store talks to it over real HTTP with real
// SigV4 signing, as it would to S3.
func s3Server(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	backend := s3mem.New()
	bucket = "avatars"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), bucket
}

func options(endpoint, bucket string) s3blob.Options {
	return s3blob.Options{Endpoint: endpoint, Bucket: bucket, Region: "us-east-1", AccessKey: "test", SecretKey: "test-secret",
		PathStyle: true, KeyPrefix: "avatars/", PresignTTL: time.Hour, Timeout: 2 * time.Second}
}

func newStore(t *testing.T, o s3blob.Options) *s3blob.Blobs {
	t.Helper()
	st, err := s3blob.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBlobs_Contract(t *testing.T) {
	for _, public := range []bool{false, true} {
		name := "presigned"
		if public {
			name = "public URL"
		}
		t.Run(name, func(t *testing.T) {
			porttest.TestBlobStore(t, func(t *testing.T) ports.BlobStore {
				o := options(s3Server(t))
				if public {
					o.PublicURL = "https://cdn.example.com"
				}
				return newStore(t, o)
			})
		})
	}
}

// The URL a client gets fetches the image: a presigned one from the storage
// itself, a public one under the configured prefix.
func TestBlobs_URLsFetchTheObject(t *testing.T) {
	endpoint, bucket := s3Server(t)
	st := newStore(t, options(endpoint, bucket))
	ctx := context.Background()
	data := []byte("\xff\xd8\xff not really a jpeg")
	name := domain.NewBlobName([domain.BlobNameBytes]byte{1}, ".jpg")
	if err := st.Put(ctx, name, "image/jpeg", data); err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(ctx, name)
	if err != nil || !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("presigned URL %q, %v", u, err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(got, data) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("fetched %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
	o := options(endpoint, bucket)
	o.PublicURL = "https://cdn.example.com/"
	if u, _ := newStore(t, o).URL(ctx, name); u != "https://cdn.example.com/avatars/"+name {
		t.Fatalf("public URL %q", u)
	}
}

// Storage that does not answer, or a bucket that does not exist, is
// unavailable (code 9), within the timeout.
func TestBlobs_OutageIsUnavailable(t *testing.T) {
	endpoint, bucket := s3Server(t)
	proxy := tcpproxy.Start(t, endpoint)
	o := options(proxy.Addr(), bucket)
	o.Timeout = 300 * time.Millisecond
	st := newStore(t, o)
	ctx := context.Background()
	var b [domain.BlobNameBytes]byte
	_, _ = rand.Read(b[:])
	name := domain.NewBlobName(b, ".jpg")
	if err := st.Put(ctx, name, "image/jpeg", []byte("x")); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	proxy.Down()
	start := time.Now()
	if err := st.Put(ctx, name, "image/jpeg", []byte("x")); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("during the outage: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	noBucket := newStore(t, options(endpoint, "no-such-bucket"))
	if err := noBucket.Put(ctx, name, "image/jpeg", []byte("x")); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("a missing bucket: %v", err)
	}
}
