package wiring

import (
	"go.uber.org/fx"

	"wxbackend/adapters/imaging"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/s3blob"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// avatarStore provides the image processor and the blob store avatars are
// kept in: a local directory (served by this server) or S3-compatible
// object storage.
func avatarStore(a config.Avatars, img imaging.Options, disk localfs.Options, s3 s3blob.Options) fx.Option {
	processor := fx.Provide(fx.Annotate(func() *imaging.Processor { return imaging.New(img) }, fx.As(new(ports.ImageProcessor))))
	if a.Store == "s3" {
		return fx.Module("s3blob", processor,
			fx.Provide(fx.Annotate(func() (*s3blob.Blobs, error) { return s3blob.New(s3) }, fx.As(new(ports.BlobStore)))))
	}
	// "local"; the configuration admits nothing else.
	return fx.Module("localfs", processor,
		fx.Provide(fx.Annotate(func() (*localfs.Blobs, error) { return localfs.New(disk) }, fx.As(new(ports.BlobStore)))))
}
