package wiring

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/ports"
)

// MessagesCommand is one of the operator's commands on the subscribe
// messages of the outbox:
//
//	messages list [--status S] [--app A] [--limit N]   newest first, 100 by default
//	messages show <id>                                 one message, its data and what became of it
//	messages retry <id>                                a failed or given-up message queued again
type MessagesCommand struct {
	Verb   string // "list", "show" or "retry"
	Target string // the message's id (show, retry)
	App    string
	Status string
	Limit  int
	JSON   bool
	Out    io.Writer
	Log    io.Writer // the stores' log lines (nil: none)
}

// messageRow is a message as the commands print it.
type messageRow struct {
	ID             int64             `json:"id"`
	AppID          string            `json:"appId"`
	OpenID         string            `json:"openId"`
	TemplateID     string            `json:"templateId"`
	IdempotencyKey string            `json:"idempotencyKey"`
	Status         string            `json:"status"`
	State          string            `json:"state"`
	Attempts       int               `json:"attempts"`
	Unknown        int               `json:"unknownAttempts"`
	ErrCode        int               `json:"errcode,omitempty"`
	MsgID          string            `json:"msgid,omitempty"` // 64 bits: text, as the internal API shows it
	CreatedAt      time.Time         `json:"createdAt"`
	NextAttemptAt  *time.Time        `json:"nextAttemptAt,omitempty"`
	DoneAt         *time.Time        `json:"doneAt,omitempty"`
	LastError      string            `json:"lastError,omitempty"`
	Page           string            `json:"page,omitempty"`
	Data           map[string]string `json:"data,omitempty"`
}

func messageRowOf(j ports.Job[domain.Message], full bool) messageRow {
	m := j.Item
	r := messageRow{ID: j.ID, AppID: m.AppID, OpenID: m.OpenID, TemplateID: m.TemplateID, IdempotencyKey: m.IdempotencyKey,
		Status: m.Status, State: j.State, Attempts: j.Attempts, Unknown: m.Unknown, ErrCode: m.ErrCode,
		CreatedAt: j.CreatedAt, LastError: j.LastError}
	if m.MsgID != 0 {
		r.MsgID = strconv.FormatInt(m.MsgID, 10)
	}
	if j.State == ports.JobPending {
		r.NextAttemptAt = &j.NextAttemptAt
	}
	if !j.DoneAt.IsZero() {
		r.DoneAt = &j.DoneAt
	}
	if full {
		r.Page, r.Data = m.Page, m.Data
	}
	return r
}

// RunMessages runs a messages command on the server's outbox, built from
// cfg as the server builds it, sending nothing itself (a retried message
// is sent by a running server's worker).
func RunMessages(cfg config.Config, cmd MessagesCommand) error {
	a, stop, err := startStores(commandApps(cfg, cmd.App), cmd.Log)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if a.Messages == nil {
		return fmt.Errorf("messages %s: no outbox (subscribe messages need the user database)", cmd.Verb)
	}
	return runMessages(ctx, a.Messages, cmd)
}

func runMessages(ctx context.Context, svc *app.Messages, cmd MessagesCommand) error {
	if cmd.Verb == "list" {
		if cmd.Limit < 0 {
			return fmt.Errorf("--limit %d: a positive number", cmd.Limit)
		}
		jobs, err := svc.List(ctx, app.MessageFilter{AppID: cmd.App, Status: cmd.Status, Limit: cmd.Limit})
		if domain.KindOf(err) == domain.KindInvalidInput {
			return fmt.Errorf("--status %s: queued, unknown, sent, delivered or failed", printable(cmd.Status))
		}
		if err != nil {
			return err
		}
		return printList(cmd.Out, cmd.JSON, jobs, func(j ports.Job[domain.Message]) messageRow { return messageRowOf(j, false) },
			"no message found", "ID\tAPPID\tOPENID\tTEMPLATE\tSTATUS\tSTATE\tATTEMPTS\tUNKNOWN\tERRCODE\tCREATED\tLAST ERROR",
			func(r messageRow) string {
				return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s", r.ID, printable(r.AppID), printable(r.OpenID),
					printable(r.TemplateID), r.Status, r.State, r.Attempts, r.Unknown, r.ErrCode, r.CreatedAt.Format(time.RFC3339), printable(r.LastError))
			})
	}
	if cmd.Verb != "show" && cmd.Verb != "retry" {
		return fmt.Errorf("unknown command messages %q", cmd.Verb)
	}
	id, err := jobID("messages "+cmd.Verb, cmd.Target, "a message id")
	if err != nil {
		return err
	}
	if cmd.Verb == "retry" {
		j, err := svc.Retry(ctx, id)
		if err != nil {
			return jobErr(err, "message", id)
		}
		if cmd.JSON {
			return encodeJSON(cmd.Out, messageRowOf(j, false))
		}
		fmt.Fprintf(cmd.Out, "message %d queued again: sent by a running server\n", id)
		if j.Item.Unknown > 0 {
			fmt.Fprintf(cmd.Out, "note: %d earlier attempts had no answer: WeChat may have sent it, and the user may receive it twice\n", j.Item.Unknown)
		}
		return nil
	}
	j, err := svc.Find(ctx, id)
	if err != nil {
		return jobErr(err, "message", id)
	}
	r := messageRowOf(j, true)
	if cmd.JSON {
		return encodeJSON(cmd.Out, r)
	}
	fmt.Fprintf(cmd.Out, "message %d of %s to %s, template %s\nstatus %s (%s) after %d attempts, %d without an answer; errcode %d; msgid %s\n"+
		"created %s; idempotency key %s\nlast error: %s\npage: %s\n",
		r.ID, printable(r.AppID), printable(r.OpenID), printable(r.TemplateID), r.Status, r.State, r.Attempts, r.Unknown, r.ErrCode,
		printable(r.MsgID), r.CreatedAt.Format(time.RFC3339), printable(r.IdempotencyKey), printable(r.LastError), printable(r.Page))
	keys := make([]string, 0, len(r.Data))
	for k := range r.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(cmd.Out, "data %s: %s\n", printable(k), printable(r.Data[k]))
	}
	return nil
}
