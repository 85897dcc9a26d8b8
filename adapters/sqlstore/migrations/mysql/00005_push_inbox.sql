-- +goose Up
-- The events WeChat pushed, a queue of leased jobs (see ports.Queue): the
-- columns from lane to done_at are every queue's, the others the inbox's.
-- One event per (app, dedup key) whichever server received it.
-- Claims and the backlog metric read pending rows in order of id
-- (state, id); a lane's older pending job is found by (lane, state, id).
CREATE TABLE wx_push_inbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    app_id          VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    lane            VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)  NOT NULL,
    lease_owner     VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    lease_until     DATETIME(6)  NULL,
    last_error      VARCHAR(1000) NOT NULL DEFAULT '',
    created_at      DATETIME(6)  NOT NULL,
    done_at         DATETIME(6)  NULL,
    dedup_key       VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    kind            VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    from_user       VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    create_time     BIGINT       NOT NULL DEFAULT 0,
    payload         MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY wx_push_inbox_dedup (app_id, dedup_key),
    KEY wx_push_inbox_pending (state, id),
    KEY wx_push_inbox_lane (lane, state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE wx_push_inbox;
