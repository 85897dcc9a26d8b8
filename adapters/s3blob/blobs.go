// Package s3blob keeps blobs (avatar images) in S3-compatible object storage
// (AWS S3, MinIO, Ceph RGW, Tencent COS…) with minio/minio-go, so any number
// of servers share them and clients fetch them from the storage, not from
// this server.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options are the S3 store's settings (see config/setting).
type Options struct {
	Endpoint   string         `setting:"s3-endpoint" usage:"S3 endpoint host[:port], e.g. s3.amazonaws.com or cos.ap-guangzhou.myqcloud.com"`
	Bucket     string         `setting:"s3-bucket" usage:"bucket avatars are stored in (must exist)"`
	Region     string         `setting:"s3-region" usage:"the bucket's region (empty: asked of the endpoint)"`
	AccessKey  string         `setting:"s3-access-key" usage:"access key id"`
	SecretKey  setting.Secret `setting:"s3-secret-key" usage:"secret access key; never printed"`
	TLS        bool           `setting:"s3-tls" default:"true" usage:"talk to the endpoint over https"`
	PathStyle  bool           `setting:"s3-path-style" default:"false" usage:"address the bucket in the path (MinIO, Ceph) rather than the host name"`
	KeyPrefix  string         `setting:"s3-key-prefix" default:"avatars/" usage:"prefix of every object key"`
	PublicURL  string         `setting:"s3-public-url" usage:"URL prefix under which objects are public (a CDN or the bucket's public address); empty: presigned URLs"`
	PresignTTL time.Duration  `setting:"s3-presign-ttl" default:"24h" usage:"lifetime of a presigned avatar URL (at most 7 days)"`
	Timeout    time.Duration  `setting:"s3-timeout" default:"10s" usage:"longest a call to the object storage may take before code 9"`
}

// Check implements setting.Checker. Whether the endpoint and bucket are
// required depends on the avatar store chosen, which config checks.
func (o *Options) Check(p *setting.Problems) {
	if o.PresignTTL <= 0 || o.PresignTTL > 7*24*time.Hour {
		p.Add(&o.PresignTTL, "must be positive and at most 7 days (SigV4's limit)")
	}
	p.Positive(&o.Timeout)
	if o.PublicURL != "" {
		if u, err := url.Parse(o.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Add(&o.PublicURL, "%q is not an http(s) URL", o.PublicURL)
		}
	}
}

// Blobs implements ports.BlobStore on a bucket.
type Blobs struct {
	c         *minio.Client
	o         Options
	publicURL string
}

var _ ports.BlobStore = (*Blobs)(nil)

// New returns a store; it connects on first use.
func New(o Options) (*Blobs, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("s3blob: endpoint and bucket are required")
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey.Reveal(), ""),
		Secure:       o.TLS,
		Region:       o.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	return &Blobs{c: c, o: o, publicURL: strings.TrimRight(o.PublicURL, "/")}, nil
}

func (b *Blobs) key(name string) string { return b.o.KeyPrefix + name }

func (b *Blobs) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.o.Timeout)
}

// Put implements ports.BlobStore. Objects are immutable, so they say so to
// every cache on the way.
func (b *Blobs) Put(ctx context.Context, name, contentType string, data []byte) error {
	if !domain.ValidBlobName(name) {
		return domain.Malformed("name", "not a blob name")
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	_, err := b.c.PutObject(ctx, b.o.Bucket, b.key(name), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType:  contentType,
		CacheControl: "public, max-age=31536000, immutable",
	})
	if err != nil {
		return fail("put", err)
	}
	return nil
}

// Get implements ports.BlobStore.
func (b *Blobs) Get(ctx context.Context, name string) (ports.Blob, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	obj, err := b.c.GetObject(ctx, b.o.Bucket, b.key(name), minio.GetObjectOptions{})
	if err != nil {
		return ports.Blob{}, fail("get", err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return ports.Blob{}, fail("get", err)
	}
	info, err := obj.Stat()
	if err != nil {
		return ports.Blob{}, fail("get", err)
	}
	return ports.Blob{Data: data, ContentType: info.ContentType}, nil
}

// Delete implements ports.BlobStore.
func (b *Blobs) Delete(ctx context.Context, name string) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := b.c.RemoveObject(ctx, b.o.Bucket, b.key(name), minio.RemoveObjectOptions{}); err != nil {
		if e := fail("delete", err); domain.KindOf(e) != domain.KindNotFound {
			return e
		}
	}
	return nil
}

// List implements ports.BlobStore: every object under the key prefix
// (ListObjectsV2, a thousand a page), with its last-modified time. The
// listing is bounded by ctx only: a large bucket takes longer than a call.
func (b *Blobs) List(ctx context.Context) iter.Seq2[ports.BlobInfo, error] {
	return func(yield func(ports.BlobInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio's lister when the caller stops early
		for obj := range b.c.ListObjects(ctx, b.o.Bucket, minio.ListObjectsOptions{Prefix: b.o.KeyPrefix, Recursive: true}) {
			if obj.Err != nil {
				yield(ports.BlobInfo{}, fail("list", obj.Err))
				return
			}
			name := strings.TrimPrefix(obj.Key, b.o.KeyPrefix)
			if !domain.ValidBlobName(name) {
				continue
			}
			if !yield(ports.BlobInfo{Name: name, StoredAt: obj.LastModified.UTC()}, nil) {
				return
			}
		}
	}
}

// URL implements ports.BlobStore: under the public URL when one is set, else
// presigned for PresignTTL (computed locally, no call to the storage).
func (b *Blobs) URL(ctx context.Context, name string) (string, error) {
	if b.publicURL != "" {
		return b.publicURL + "/" + b.key(name), nil
	}
	u, err := b.c.PresignedGetObject(ctx, b.o.Bucket, b.key(name), b.o.PresignTTL, nil)
	if err != nil {
		return "", fail("presign", err)
	}
	return u.String(), nil
}

// fail wraps a storage error: a missing object is not found; anything else
// (unreachable, timed out, refused, a missing bucket) leaves the store
// unavailable, code 9.
func fail(op string, err error) error {
	if resp := minio.ToErrorResponse(err); resp.Code == minio.NoSuchKey || resp.StatusCode == 404 && resp.Code != minio.NoSuchBucket {
		return domain.Wrap(domain.KindNotFound, fmt.Errorf("s3 %s: %w", op, err))
	}
	return domain.Wrap(domain.KindUnavailable, fmt.Errorf("s3 %s: %w", op, err))
}
