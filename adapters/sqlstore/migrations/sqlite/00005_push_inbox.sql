-- +goose Up
-- The events WeChat pushed, a queue of leased jobs (see ports.Queue): the
-- columns from lane to done_at are every queue's, the others the inbox's.
-- One event per (app, dedup key).
-- Claims and the backlog metric read pending rows in order of id
-- (state, id); a lane's older pending job is found by (lane, state, id).
CREATE TABLE wx_push_inbox (
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
    dedup_key       TEXT     NOT NULL,
    kind            TEXT     NOT NULL,
    from_user       TEXT     NOT NULL DEFAULT '',
    create_time     INTEGER  NOT NULL DEFAULT 0,
    payload         TEXT     NOT NULL,
    UNIQUE (app_id, dedup_key)
);
CREATE INDEX wx_push_inbox_pending ON wx_push_inbox (state, id);
CREATE INDEX wx_push_inbox_lane ON wx_push_inbox (lane, state, id);

-- +goose Down
DROP TABLE wx_push_inbox;
