package sqlstore_test

import (
	"testing"

	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

func TestSQLite_InboxContract(t *testing.T) {
	porttest.TestInbox(t, func(t *testing.T) ports.Inbox { return openSQLite(t).Inbox })
}

func TestMariaDB_InboxContract(t *testing.T) {
	porttest.TestInbox(t, func(t *testing.T) ports.Inbox { return openStore(t, "mysql", sqltest.MySQL(t)).Inbox })
}

func TestPostgres_InboxContract(t *testing.T) {
	porttest.TestInbox(t, func(t *testing.T) ports.Inbox { return openStore(t, "postgres", sqltest.Postgres(t)).Inbox })
}
