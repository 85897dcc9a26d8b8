package portfake_test

import (
	"testing"
	"time"

	"wxbackend/ports"
	"wxbackend/ports/portfake"
	"wxbackend/ports/porttest"
)

// Every fake store passes its port's contract, so tests built on it test real
// behaviour. WeChat, Clock and Tokens have no contract suite.

func TestSessions_Contract(t *testing.T) {
	clock := portfake.NewClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	porttest.TestSessionStore(t, porttest.SessionHarness{
		New:    func(*testing.T) ports.SessionStore { return portfake.NewSessions(clock) },
		Now:    clock.Now,
		Elapse: clock.Advance,
	})
}

func TestUsers_Contract(t *testing.T) {
	porttest.TestUserRepo(t, func(*testing.T) ports.UserRepo { return portfake.NewUsers() })
}

func TestBlobs_Contract(t *testing.T) {
	porttest.TestBlobStore(t, func(*testing.T) ports.BlobStore { return portfake.NewBlobs() })
}
