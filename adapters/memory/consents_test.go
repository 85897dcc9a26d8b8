package memory_test

import (
	"testing"

	"wxbackend/adapters/memory"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestConsentsContract(t *testing.T) {
	porttest.TestConsents(t, func(*testing.T) ports.Consents { return memory.NewConsents() })
}

func TestOutboxContract(t *testing.T) {
	porttest.TestOutbox(t, func(*testing.T) ports.Outbox { return memory.NewOutbox() })
}
