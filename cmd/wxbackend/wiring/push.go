package wiring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/metrics"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/webhook"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/ports"
)

// pushInbox provides what WeChat's message push needs: the inbox in the user
// database, each app's push settings, the webhook client, and the metrics'
// observer when metrics are on (else none).
func pushInbox(cfg config.Config) fx.Option {
	return fx.Module("push",
		fx.Provide(
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Inbox { return st.Inbox }, fx.As(new(ports.Inbox))),
			func() []app.PushApp { return cfg.PushApps() },
			fx.Annotate(func(clock ports.Clock) (*webhook.Client, error) {
				return webhook.New(cfg.Push.Webhook, cfg.WebhookTargets(), clock)
			}, fx.As(new(ports.Webhook))),
			func(p pushObserverParams) ports.PushObserver {
				if p.Metrics == nil {
					return nil
				}
				return p.Metrics.Push()
			},
		),
	)
}

type pushObserverParams struct {
	fx.In
	Metrics *metrics.Metrics `optional:"true"`
}

// pushWorker delivers the inbox's events to the webhooks for the server's
// lifetime (app.Worker with app.DeliverPush), when any app receives
// pushes; with metrics on, the age of the oldest undelivered event is read
// at scrape time.
func pushWorker(o app.PushOptions) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, svc *app.App, inbox ports.Inbox, clock ports.Clock, log *slog.Logger,
		observe ports.PushObserver, m pushObserverParams) error {
		if svc.DeliverPush == nil {
			return nil
		}
		if m.Metrics != nil {
			m.Metrics.PushBacklog(func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				at, ok, err := inbox.OldestPending(ctx)
				if err != nil || !ok {
					return 0
				}
				return clock.Now().Sub(at).Seconds()
			})
		}
		var result func(ports.Job[domain.PushEvent], string)
		if observe != nil {
			result = func(j ports.Job[domain.PushEvent], r string) { observe.Delivery(j.Item.AppID, r) }
		}
		owner, err := workerName()
		if err != nil {
			return err
		}
		w, err := app.NewWorker(inbox, svc.DeliverPush.Handle, clock, o.Policy(), owner, log.With(slog.String("worker", "push")), result)
		if err != nil {
			return err
		}
		runInBackground(lc, w.Run)
		return nil
	})
}

// workerName names this process's leases: host, process and a random part,
// so that a restarted process does not take its predecessor's leases for
// its own.
func workerName() (string, error) {
	host, _ := os.Hostname()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	return name, nil
}
