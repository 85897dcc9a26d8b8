package memory_test

import (
	"testing"

	"wxbackend/adapters/memory"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestInboxContract(t *testing.T) {
	porttest.TestInbox(t, func(*testing.T) ports.Inbox { return memory.NewInbox() })
}
