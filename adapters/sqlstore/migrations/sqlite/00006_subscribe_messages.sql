-- +goose Up
-- Users' consent to subscribe messages, per template (see domain.Consent):
-- the last answer, whether the template is long-term, and the one-time
-- allowances left.
CREATE TABLE wx_subscriptions (
    app_id      TEXT     NOT NULL,
    open_id     TEXT     NOT NULL,
    template_id TEXT     NOT NULL,
    status      TEXT     NOT NULL DEFAULT '',
    long_term   BOOLEAN  NOT NULL DEFAULT FALSE,
    remaining   INTEGER  NOT NULL DEFAULT 0,
    updated_at  DATETIME NULL,
    PRIMARY KEY (app_id, open_id, template_id)
);

-- Subscribe messages to send, a queue of leased jobs (see ports.Queue): the
-- columns from lane to done_at are every queue's, the others the outbox's.
-- One message per (app, idempotency key); a sent event finds its message
-- by (app, msg_id).
CREATE TABLE wx_message_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT     NOT NULL,
    lane            TEXT     NOT NULL,
    state           TEXT     NOT NULL,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_owner     TEXT     NOT NULL DEFAULT '',
    lease_until     DATETIME NULL,
    last_error      TEXT     NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    done_at         DATETIME NULL,
    idempotency_key TEXT     NOT NULL,
    open_id         TEXT     NOT NULL,
    template_id     TEXT     NOT NULL,
    request         TEXT     NOT NULL,
    status          TEXT     NOT NULL,
    msg_id          INTEGER  NOT NULL DEFAULT 0,
    err_code        INTEGER  NOT NULL DEFAULT 0,
    unknown_count   INTEGER  NOT NULL DEFAULT 0,
    UNIQUE (app_id, idempotency_key)
);
CREATE INDEX wx_message_outbox_msg_id ON wx_message_outbox (app_id, msg_id);
CREATE INDEX wx_message_outbox_pending ON wx_message_outbox (state, id);
CREATE INDEX wx_message_outbox_lane ON wx_message_outbox (lane, state, id);

-- +goose Down
DROP TABLE wx_message_outbox;
DROP TABLE wx_subscriptions;
