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
