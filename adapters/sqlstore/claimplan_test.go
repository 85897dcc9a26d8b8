package sqlstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/ports"
)

// A claim on PostgreSQL examines rows in proportion to its batch, not to the
// backlog, on a new table that has no statistics yet: with 2,000 pending
// messages (one per lane) it may read a few hundred rows. The NOT EXISTS form
// was planned there as a nested loop over every pending row for each
// candidate (64,064 rows read for a batch of 16 here, and the square of the
// backlog once the plan's outer side grew).
func TestPostgres_ClaimWorkIsBoundedByTheBatchWithoutStatistics(t *testing.T) {
	st, err := Open(Options{Driver: "postgres", DSN: DSN(sqltest.Postgres(t)), QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const backlog, batch = 2000, 16
	if _, err := st.db.ExecContext(ctx, `INSERT INTO wx_message_outbox (app_id, lane, state, next_attempt_at, created_at,
		idempotency_key, open_id, template_id, request, status)
		SELECT 'wxapp', 'wxapp:o' || i, $1, now(), now(), 'k' || i, 'o' || i, 'tmpl', '{}', 'queued'
		FROM generate_series(1, $2) i`, ports.JobPending, backlog); err != nil {
		t.Fatal(err)
	}
	var analyzed bool
	if err := st.db.GetContext(ctx, &analyzed, `SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL
		FROM pg_stat_user_tables WHERE relname = 'wx_message_outbox'`); err != nil {
		t.Fatal(err)
	}
	if analyzed {
		t.Skip("autovacuum analyzed the table already: the case is gone")
	}
	now := dbTime(time.Now().Add(time.Second))
	tx, err := st.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // the claim's locks go with it
	var out []byte
	if err := tx.GetContext(ctx, &out, `EXPLAIN (ANALYZE, FORMAT JSON) `+st.Outbox.q.claim,
		ports.JobPending, now, now, ports.JobPending, batch); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("plan %s: %v", out, err)
	}
	if top := plans[0].Plan; top.ActualRows*top.ActualLoops != batch {
		t.Fatalf("the claim returned %.0f jobs of %d pending, want %d", top.ActualRows*top.ActualLoops, backlog, batch)
	}
	if read := plans[0].Plan.read(); read > backlog/4 {
		t.Fatalf("a claim of %d read %.0f rows of a backlog of %d:\n%s", batch, read, backlog, out)
	}
}

// planNode is a node of PostgreSQL's EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	ActualRows          float64    `json:"Actual Rows"`
	ActualLoops         float64    `json:"Actual Loops"`
	RemovedByFilter     float64    `json:"Rows Removed by Filter"`
	RemovedByJoinFilter float64    `json:"Rows Removed by Join Filter"`
	RemovedByRecheck    float64    `json:"Rows Removed by Index Recheck"`
	Plans               []planNode `json:"Plans"`
}

// read is how many rows the node and those under it produced or filtered
// out, over all their loops (EXPLAIN gives per-loop averages).
func (n planNode) read() float64 {
	r := (n.ActualRows + n.RemovedByFilter + n.RemovedByJoinFilter + n.RemovedByRecheck) * n.ActualLoops
	for _, c := range n.Plans {
		r += c.read()
	}
	return r
}
