// Package portfake has fakes of the ports that have no in-memory adapter, for
// tests of the core: WeChat, a settable clock and predictable tokens, and the
// stores a test makes fail on demand (Sessions, Users, Blobs, with SetErr).
// Where a real in-memory adapter exists (adapters/memory's session store and
// token cache, adapters/aescbc, adapters/localfs in a temp dir,
// adapters/imaging), tests use it instead. The stores pass the same contract
// suites (ports/porttest) as the real adapters (portfake_test.go); WeChat,
// Clock and Tokens have no suite.
package portfake

import "wxbackend/ports"

// Every fake is its port.
var (
	_ ports.Clock        = (*Clock)(nil)
	_ ports.TokenSource  = (*Tokens)(nil)
	_ ports.SessionStore = (*Sessions)(nil)
	_ ports.UserRepo     = (*Users)(nil)
	_ ports.WeChat       = (*WeChat)(nil)
	_ ports.BlobStore    = (*Blobs)(nil)
)
