package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/lib/pq"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"wxbackend/domain"
)

// classify tells a database that is down, overloaded or too slow (unavailable:
// retry later) from a bug (internal).
func classify(err error) domain.Kind {
	if transient(err) {
		return domain.KindUnavailable
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return domain.KindUnavailable
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, 1053, 1077, 1078, 1079, 1080, 1081, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161, 1317, 1927:
			return domain.KindUnavailable // connections, shutdown, aborted or killed queries
		}
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch class := string(pe.Code[:2]); {
		case class == "08", class == "53", class == "57": // connection, resources, operator intervention
			return domain.KindUnavailable
		case pe.Code == "25006": // read-only transaction: a replica or a failover in progress
			return domain.KindUnavailable
		}
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return domain.KindUnavailable
		}
	}
	if strings.Contains(err.Error(), "driver: bad connection") {
		return domain.KindUnavailable
	}
	return domain.KindInternal
}

// transient reports an error that the same statement may not meet again:
// deadlocks, lock waits, serialization failures, a busy SQLite.
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03"
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}
