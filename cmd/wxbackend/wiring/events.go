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
		return printList(cmd.Out, cmd.JSON, jobs, func(j ports.Job[domain.PushEvent]) eventRow { return rowOf(j, false) },
			"no event found", "ID\tAPPID\tEVENT\tFROM\tSTATE\tATTEMPTS\tRECEIVED\tLAST ERROR",
			func(r eventRow) string {
				return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s", r.ID, printable(r.AppID), printable(r.Event), printable(r.FromUser),
					r.State, r.Attempts, r.ReceivedAt.Format(time.RFC3339), printable(r.LastError))
			})
	case "events show", "events replay":
		id, err := jobID(cmd.Verb, cmd.Target, "an event id")
		if err != nil {
			return err
		}
		if cmd.Verb == "events replay" {
			if err := events.Replay(ctx, id); err != nil {
				return jobErr(err, "event", id)
			}
			fmt.Fprintf(cmd.Out, "event %d pending again: delivered anew by a running server\n", id)
			return nil
		}
		j, err := events.Get(ctx, id)
		if err != nil {
			return jobErr(err, "event", id)
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

// printList prints jobs as JSON rows, or as a table (header, then a line of
// tab-separated columns per row), or says none were found.
func printList[J, R any](out io.Writer, asJSON bool, jobs []J, row func(J) R, none, header string, line func(R) string) error {
	rows := make([]R, len(jobs))
	for i, j := range jobs {
		rows[i] = row(j)
	}
	if asJSON {
		return encodeJSON(out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(out, none)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, line(r))
	}
	return tw.Flush()
}

// jobID reads the id a command (verb) names; what says what it must be
// ("an event id").
func jobID(verb, target, what string) (int64, error) {
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: %s is not %s", verb, printable(target), what)
	}
	return id, nil
}

// jobErr is the operator's message of an error of the event or message
// (noun) id: not found is ErrNotFound (exit status 1).
func jobErr(err error, noun string, id int64) error {
	switch domain.KindOf(err) {
	case domain.KindNotFound:
		return notFoundf("no %s %d", noun, id)
	case domain.KindInvalidInput, domain.KindForbidden:
		return fmt.Errorf("%s %d: %s", noun, id, domain.ClientMessageOf(err))
	}
	return err
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
