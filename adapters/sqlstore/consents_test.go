package sqlstore_test

import (
	"testing"

	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestSQLite_ConsentsContract(t *testing.T) {
	porttest.TestConsents(t, func(t *testing.T) ports.Consents { return openSQLite(t).Consents })
}

func TestMariaDB_ConsentsContract(t *testing.T) {
	porttest.TestConsents(t, func(t *testing.T) ports.Consents { return openStore(t, "mysql", sqltest.MySQL(t)).Consents })
}

func TestPostgres_ConsentsContract(t *testing.T) {
	porttest.TestConsents(t, func(t *testing.T) ports.Consents { return openStore(t, "postgres", sqltest.Postgres(t)).Consents })
}

func TestSQLite_OutboxContract(t *testing.T) {
	porttest.TestOutbox(t, func(t *testing.T) ports.Outbox { return openSQLite(t).Outbox })
}

func TestMariaDB_OutboxContract(t *testing.T) {
	porttest.TestOutbox(t, func(t *testing.T) ports.Outbox { return openStore(t, "mysql", sqltest.MySQL(t)).Outbox })
}

func TestPostgres_OutboxContract(t *testing.T) {
	porttest.TestOutbox(t, func(t *testing.T) ports.Outbox { return openStore(t, "postgres", sqltest.Postgres(t)).Outbox })
}
