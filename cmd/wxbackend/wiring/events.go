package wiring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/ports"
)

// EventsCommand is one of the operator's commands on the events WeChat
// pushed (the inbox):
//
//	events list [--app A] [--state pending|done|dead]   newest first, 100 at most
//	events show <id>                                     one event, its payload and its deliveries
//	events replay <id>                                   a dead event pending again, delivered anew
type EventsCommand struct {
	Verb, Target string
	App, State   string
	JSON         bool
	Out          io.Writer
	Log          io.Writer // the stores' log lines (nil: none)
}

// eventRow is an event as the commands print it.
type eventRow struct {
	ID            int64           `json:"id"`
	AppID         string          `json:"appId"`
	Event         string          `json:"event"`
	FromUser      string          `json:"fromUser,omitempty"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	ReceivedAt    time.Time       `json:"receivedAt"`
	NextAttemptAt *time.Time      `json:"nextAttemptAt,omitempty"`
	DoneAt        *time.Time      `json:"doneAt,omitempty"`
	LastError     string          `json:"lastError,omitempty"`
	DedupKey      string          `json:"dedupKey"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

func rowOf(j ports.Job[domain.PushEvent], payload bool) eventRow {
	r := eventRow{ID: j.ID, AppID: j.Item.AppID, Event: j.Item.Kind, FromUser: j.Item.FromUser, State: j.State,
		Attempts: j.Attempts, ReceivedAt: j.CreatedAt, LastError: j.LastError, DedupKey: j.Item.DedupKey}
	if j.State == ports.JobPending {
		r.NextAttemptAt = &j.NextAttemptAt
	}
	if !j.DoneAt.IsZero() {
		r.DoneAt = &j.DoneAt
	}
	if payload {
		r.Payload = j.Item.Payload
	}
	return r
}

// RunEvents runs an events command on the server's inbox, built from cfg as
// the server builds it, serving nothing.
func RunEvents(cfg config.Config, cmd EventsCommand) error {
	a, stop, err := startStores(commandApps(cfg, cmd.App), cmd.Log)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := a.PushEvents
	switch cmd.Verb {
	case "events list":
		jobs, err := events.List(ctx, ports.JobFilter{AppID: cmd.App, State: cmd.State})
		if domain.KindOf(err) == domain.KindInvalidInput {
			return fmt.Errorf("--state %s: pending, done or dead", printable(cmd.State))
		}
		if err != nil {
			return err
		}
		rows := make([]eventRow, len(jobs))
		for i, j := range jobs {
			rows[i] = rowOf(j, false)
		}
		if cmd.JSON {
			return encodeJSON(cmd.Out, rows)
		}
		if len(rows) == 0 {
			fmt.Fprintln(cmd.Out, "no event found")
			return nil
		}
		tw := tabwriter.NewWriter(cmd.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAPPID\tEVENT\tFROM\tSTATE\tATTEMPTS\tRECEIVED\tLAST ERROR")
		for _, r := range rows {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, printable(r.AppID), printable(r.Event), printable(r.FromUser),
				r.State, r.Attempts, r.ReceivedAt.Format(time.RFC3339), printable(r.LastError))
		}
		return tw.Flush()
	case "events show", "events replay":
		id, err := strconv.ParseInt(cmd.Target, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%s: %s is not an event id", cmd.Verb, printable(cmd.Target))
		}
		if cmd.Verb == "events replay" {
			if err := events.Replay(ctx, id); err != nil {
				return notFound(err, id)
			}
			fmt.Fprintf(cmd.Out, "event %d pending again: delivered anew by a running server\n", id)
			return nil
		}
		j, err := events.Get(ctx, id)
		if err != nil {
			return notFound(err, id)
		}
		r := rowOf(j, true)
		if cmd.JSON {
			return encodeJSON(cmd.Out, r)
		}
		fmt.Fprintf(cmd.Out, "event %d of %s: %s from %s\nstate %s after %d attempts; received %s\nlast error: %s\ndedup key: %s\npayload: %s\n",
			r.ID, printable(r.AppID), printable(r.Event), printable(r.FromUser), r.State, r.Attempts, r.ReceivedAt.Format(time.RFC3339),
			printable(r.LastError), printable(r.DedupKey), printable(string(r.Payload)))
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd.Verb)
}

func notFound(err error, id int64) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return notFoundf("no event %d", id)
	}
	if domain.KindOf(err) == domain.KindInvalidInput {
		return fmt.Errorf("event %d: %s", id, domain.ClientMessageOf(err))
	}
	return err
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
