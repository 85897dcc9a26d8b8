package porttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// pushEvent returns an event of app from user with a dedup key of its own.
func pushEvent(t *testing.T, app, user string, at time.Time) domain.PushEvent {
	t.Helper()
	key := uniqueID(t, "msgid:")
	payload, _ := json.Marshal(map[string]any{"FromUserName": user, "MsgType": "event", "Event": "x", "key": key, "emoji": "🎸"})
	return domain.PushEvent{AppID: app, Kind: "x", DedupKey: key, FromUser: user, CreateTime: at.Unix(),
		Payload: payload, ReceivedAt: at}
}

func ids[T any](jobs []ports.Job[T]) []int64 {
	out := []int64{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// TestInbox runs the Inbox contract (and with it the Queue contract);
// newInbox returns an empty inbox of its own.
func TestInbox(t *testing.T, newInbox func(t *testing.T) ports.Inbox) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	store := func(t *testing.T, in ports.Inbox, e domain.PushEvent) int64 {
		t.Helper()
		ok, err := in.Store(ctx(t), e)
		if err != nil || !ok {
			t.Fatalf("store: %v %v", ok, err)
		}
		jobs, err := in.List(ctx(t), ports.JobFilter{AppID: e.AppID, Limit: 1})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("list after store: %v %v", jobs, err)
		}
		return jobs[0].ID
	}
	claim := func(t *testing.T, in ports.Inbox, owner string, max int, now time.Time) []ports.Job[domain.PushEvent] {
		t.Helper()
		jobs, err := in.Claim(ctx(t), owner, max, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}

	t.Run("StoresOnceAndReadsBackWhole", func(t *testing.T) {
		in := newInbox(t)
		e := pushEvent(t, "wxa", "oU1", t0)
		id := store(t, in, e)
		dup := e
		dup.Payload = json.RawMessage(`{"other":"payload"}`)
		if ok, err := in.Store(ctx(t), dup); ok || err != nil {
			t.Fatalf("a duplicate stored: %v %v", ok, err)
		}
		other := e
		other.AppID = "wxb"
		if ok, err := in.Store(ctx(t), other); !ok || err != nil {
			t.Fatalf("the same key of another app not stored: %v %v", ok, err)
		}
		j, err := in.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		_ = json.Unmarshal(j.Item.Payload, &got)
		_ = json.Unmarshal(e.Payload, &want)
		j.Item.Payload, e.Payload = nil, nil
		j.Item.ReceivedAt = j.Item.ReceivedAt.UTC()
		if !reflect.DeepEqual(j.Item, e) || !reflect.DeepEqual(got, want) {
			t.Fatalf("read back %+v %v,\nwant %+v %v", j.Item, got, e, want)
		}
		if j.State != ports.JobPending || j.Attempts != 0 || !j.NextAttemptAt.Equal(t0) || !j.CreatedAt.Equal(t0) {
			t.Fatalf("a new job is %+v", j)
		}
		_, err = in.Get(ctx(t), id+1000)
		wantKind(t, err, domain.KindNotFound)
	})

	t.Run("ClaimsOnePerLaneInOrderOfArrival", func(t *testing.T) {
		in := newInbox(t)
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		b := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		c := store(t, in, pushEvent(t, "wxa", "oU2", t0))
		got := claim(t, in, "w1", 10, t0)
		if !reflect.DeepEqual(ids(got), []int64{a, c}) || got[0].Attempts != 1 || got[0].LeaseOwner != "w1" {
			t.Fatalf("claimed %v (%+v), want [%d %d]", ids(got), got, a, c)
		}
		if again := claim(t, in, "w2", 10, t0.Add(time.Second)); len(again) != 0 {
			t.Fatalf("leased jobs claimed again: %v", ids(again))
		}
		if err := in.Done(ctx(t), a, "w1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if next := claim(t, in, "w2", 10, t0.Add(2*time.Second)); !reflect.DeepEqual(ids(next), []int64{b}) {
			t.Fatalf("after the first is done, claimed %v, want [%d]", ids(next), b)
		}
		j, _ := in.Get(ctx(t), a)
		if j.State != ports.JobDone || !j.DoneAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("done job is %+v", j)
		}
	})

	t.Run("ClaimsAtMostMax", func(t *testing.T) {
		in := newInbox(t)
		for i := range 5 {
			store(t, in, pushEvent(t, "wxa", fmt.Sprint("oU", i), t0))
		}
		if got := claim(t, in, "w1", 2, t0); len(got) != 2 {
			t.Fatalf("claimed %d, want 2", len(got))
		}
		if got := claim(t, in, "w1", 10, t0); len(got) != 3 {
			t.Fatalf("claimed %d, want the other 3", len(got))
		}
	})

	t.Run("AnExpiredLeaseIsClaimedAgainAndTheFirstOwnerLosesIt", func(t *testing.T) {
		in := newInbox(t)
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		claim(t, in, "w1", 1, t0)
		got := claim(t, in, "w2", 1, t0.Add(2*time.Minute))
		if !reflect.DeepEqual(ids(got), []int64{a}) || got[0].Attempts != 2 {
			t.Fatalf("after the lease ran out, claimed %+v", got)
		}
		for _, err := range []error{
			in.Done(ctx(t), a, "w1", t0.Add(2*time.Minute)),
			in.Retry(ctx(t), a, "w1", t0.Add(3*time.Minute), "x"),
			in.Bury(ctx(t), a, "w1", t0.Add(2*time.Minute), "x"),
		} {
			if !errors.Is(err, ports.ErrLeaseLost) {
				t.Fatalf("the first owner recorded an outcome: %v", err)
			}
		}
		if err := in.Done(ctx(t), a, "w2", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("RetryIsDueLaterAndHoldsItsLane", func(t *testing.T) {
		in := newInbox(t)
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		b := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		claim(t, in, "w1", 10, t0)
		if err := in.Retry(ctx(t), a, "w1", t0.Add(time.Hour), "webhook: 503"); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, in, "w1", 10, t0.Add(time.Minute)); len(got) != 0 {
			t.Fatalf("claimed %v while the lane's first waits", ids(got))
		}
		got := claim(t, in, "w1", 10, t0.Add(time.Hour))
		if !reflect.DeepEqual(ids(got), []int64{a}) || got[0].Attempts != 2 || got[0].LastError != "webhook: 503" {
			t.Fatalf("claimed %+v, want job %d, second attempt", got, a)
		}
		_ = b
	})

	t.Run("BuriedIsDeadUntilReplayed", func(t *testing.T) {
		in := newInbox(t)
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		b := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		claim(t, in, "w1", 10, t0)
		wantKind(t, in.Replay(ctx(t), a, t0), domain.KindInvalidInput)
		if err := in.Bury(ctx(t), a, "w1", t0.Add(time.Second), "gave up"); err != nil {
			t.Fatal(err)
		}
		j, _ := in.Get(ctx(t), a)
		if j.State != ports.JobDead || j.LastError != "gave up" || !j.DoneAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("buried job is %+v", j)
		}
		if got := claim(t, in, "w1", 10, t0.Add(time.Second)); !reflect.DeepEqual(ids(got), []int64{b}) {
			t.Fatalf("a dead job holds its lane: claimed %v", ids(got))
		}
		if err := in.Done(ctx(t), b, "w1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := in.Replay(ctx(t), a, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got := claim(t, in, "w1", 10, t0.Add(time.Hour))
		if !reflect.DeepEqual(ids(got), []int64{a}) || got[0].Attempts != 1 {
			t.Fatalf("replayed job claimed as %+v", got)
		}
		wantKind(t, in.Replay(ctx(t), a+1000, t0), domain.KindNotFound)
	})

	t.Run("ListsNewestFirstByAppAndState", func(t *testing.T) {
		in := newInbox(t)
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		b := store(t, in, pushEvent(t, "wxb", "oU2", t0))
		c := store(t, in, pushEvent(t, "wxa", "oU3", t0))
		claim(t, in, "w1", 1, t0)
		if err := in.Done(ctx(t), a, "w1", t0); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    ports.JobFilter
			want []int64
		}{
			{ports.JobFilter{}, []int64{c, b, a}},
			{ports.JobFilter{AppID: "wxa"}, []int64{c, a}},
			{ports.JobFilter{State: ports.JobPending}, []int64{c, b}},
			{ports.JobFilter{AppID: "wxa", State: ports.JobDone}, []int64{a}},
			{ports.JobFilter{Limit: 1}, []int64{c}},
			{ports.JobFilter{Before: c}, []int64{b, a}},
		} {
			got, err := in.List(ctx(t), tc.f)
			if err != nil || !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("list %+v: %v (%v), want %v", tc.f, ids(got), err, tc.want)
			}
		}
	})

	t.Run("OldestPending", func(t *testing.T) {
		in := newInbox(t)
		if _, ok, err := in.OldestPending(ctx(t)); ok || err != nil {
			t.Fatalf("an empty inbox has a pending job (%v)", err)
		}
		a := store(t, in, pushEvent(t, "wxa", "oU1", t0))
		store(t, in, pushEvent(t, "wxa", "oU2", t0.Add(time.Minute)))
		if at, ok, err := in.OldestPending(ctx(t)); !ok || err != nil || !at.Equal(t0) {
			t.Fatalf("oldest pending %v %v %v, want %v", at, ok, err, t0)
		}
		claim(t, in, "w1", 1, t0)
		if err := in.Done(ctx(t), a, "w1", t0); err != nil {
			t.Fatal(err)
		}
		if at, ok, _ := in.OldestPending(ctx(t)); !ok || !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("oldest pending %v, want %v", at, t0.Add(time.Minute))
		}
	})

	t.Run("ConcurrentStoresOfOneEventStoreOne", func(t *testing.T) {
		in := newInbox(t)
		e := pushEvent(t, "wxa", "oU1", t0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := in.Store(ctx(t), e)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					stored++
				}
			}()
		}
		wg.Wait()
		if stored != 1 {
			t.Fatalf("stored %d times", stored)
		}
	})

	t.Run("ConcurrentWorkersClaimEachJobOnce", func(t *testing.T) {
		in := newInbox(t)
		const n = 24
		for i := range n {
			store(t, in, pushEvent(t, "wxa", fmt.Sprint("oU", i), t0))
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprint("w", w)
				for {
					jobs, err := in.Claim(ctx(t), owner, 3, t0, t0.Add(time.Minute))
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d distinct jobs, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Fatalf("job %d claimed %d times", id, k)
			}
		}
	})

	t.Run("ConcurrentWorkersKeepEachLaneInOrder", func(t *testing.T) {
		in := newInbox(t)
		const lanes, perLane = 3, 8
		for i := range lanes * perLane {
			store(t, in, pushEvent(t, "wxa", fmt.Sprint("oU", i%lanes), t0))
		}
		var mu sync.Mutex
		busy := map[string]bool{}
		order := map[string][]int64{}
		done := 0
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprint("w", w)
				for {
					jobs, err := in.Claim(ctx(t), owner, 2, t0, t0.Add(time.Minute))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					finished := done == lanes*perLane
					for _, j := range jobs {
						if busy[j.Item.FromUser] {
							t.Errorf("job %d claimed while its lane %s has one in flight", j.ID, j.Item.FromUser)
						}
						busy[j.Item.FromUser] = true
						order[j.Item.FromUser] = append(order[j.Item.FromUser], j.ID)
					}
					mu.Unlock()
					if finished {
						return
					}
					for _, j := range jobs {
						mu.Lock()
						busy[j.Item.FromUser] = false
						done++
						mu.Unlock()
						if err := in.Done(ctx(t), j.ID, owner, t0); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		for lane, got := range order {
			if len(got) != perLane || !slices.IsSorted(got) {
				t.Errorf("lane %s handled as %v, want %d jobs in order", lane, got, perLane)
			}
		}
	})
}
