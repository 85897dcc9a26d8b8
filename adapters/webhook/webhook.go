// Package webhook delivers push events to each app's own service: a POST of
// JSON, signed with the app's webhook secret.
//
// The signature scheme (documented in the README, with code to verify it):
//
//	X-WXB-Timestamp: 1767225600                    (Unix seconds, when sent)
//	X-WXB-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Idempotency-Key: <32 hex digits, the same for every attempt of one event>
//
// A receiver recomputes the HMAC over the raw body, compares in constant
// time, refuses a timestamp far from its clock (a replay), and skips an
// Idempotency-Key it has seen (a delivery repeated after a lost answer).
// Any 2xx answer is delivered; anything else (a 4xx too: a receiver
// misconfigured is fixed by its team, and the event waits for it, until it
// is dead and an operator replays it), a redirect, a timeout or no answer
// is tried again.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options configure the deliveries; each tagged field is a setting.
type Options struct {
	Timeout time.Duration `setting:"webhook-timeout" default:"10s" usage:"longest a webhook may take to answer a delivery (then it is tried again)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) { p.Positive(&o.Timeout) }

// Target is where an app's events go and the secret they are signed with.
type Target struct {
	URL    string
	Secret setting.Secret
}

// Client delivers events to the targets, by appid.
type Client struct {
	http    *http.Client
	targets map[string]Target
	clock   ports.Clock
}

var _ ports.Webhook = (*Client)(nil)

// New returns a client for targets (appid → target). A target's URL must
// be absolute http or https, and its secret set.
func New(o Options, targets map[string]Target, clock ports.Clock) (*Client, error) {
	for app, t := range targets {
		if err := CheckURL(t.URL); err != nil {
			return nil, fmt.Errorf("webhook of %s: %w", app, err)
		}
		if t.Secret == "" {
			return nil, fmt.Errorf("webhook of %s: no secret", app)
		}
	}
	return &Client{
		http: &http.Client{
			Timeout: o.Timeout,
			// A pool of its own: webhooks are other services than WeChat's.
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				ForceAttemptHTTP2:   true,
				MaxIdleConnsPerHost: 16,
				IdleConnTimeout:     90 * time.Second,
				TLSHandshakeTimeout: 5 * time.Second,
			},
			// A redirect is not followed: the signed body would go
			// wherever it points. It is an answer that is not 2xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		targets: targets,
		clock:   clock,
	}, nil
}

// CheckURL tells whether s is a webhook URL: absolute, http or https.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("a webhook URL is an absolute http:// or https:// URL")
	}
	return nil
}

// Delivery is the JSON body a webhook receives.
type Delivery struct {
	ID         string          `json:"id"`       // the idempotency key, as in the header
	InboxID    int64           `json:"inbox_id"` // the event's number for wxbackend events show
	AppID      string          `json:"appid"`
	Event      string          `json:"event"` // Event of an event, else MsgType
	FromUser   string          `json:"from_user,omitempty"`
	CreateTime int64           `json:"create_time"` // WeChat's, Unix seconds
	ReceivedAt time.Time       `json:"received_at"`
	Payload    json.RawMessage `json:"payload"` // WeChat's fields, normalised (domain.PushEvent.Payload)
}

// Sign returns the X-WXB-Signature of body sent at timestamp.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver implements ports.Webhook.
func (c *Client) Deliver(ctx context.Context, id int64, e domain.PushEvent) error {
	t, ok := c.targets[e.AppID]
	if !ok {
		return domain.Malformed("appid", "the app has no webhook")
	}
	key := e.IdempotencyKey()
	body, err := json.Marshal(Delivery{ID: key, InboxID: id, AppID: e.AppID, Event: e.Kind, FromUser: e.FromUser,
		CreateTime: e.CreateTime, ReceivedAt: e.ReceivedAt.UTC(), Payload: e.Payload})
	if err != nil {
		return domain.Wrap(domain.KindInternal, err)
	}
	ts := strconv.FormatInt(c.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return domain.Wrap(domain.KindInternal, errors.New("webhook request"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wxbackend-webhook")
	req.Header.Set("X-WXB-Timestamp", ts)
	req.Header.Set("X-WXB-Signature", Sign(t.Secret.Reveal(), ts, body))
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL may hold a credential: the error says what failed, not where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	}
	return nil
}
