-- +goose Up
-- Users' consent to subscribe messages, per template (see domain.Consent):
-- the last answer, whether the template is long-term, and the one-time
-- allowances left.
CREATE TABLE wx_subscriptions (
    app_id      VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    open_id     VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    template_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status      VARCHAR(16)  NOT NULL DEFAULT '',
    long_term   BOOLEAN      NOT NULL DEFAULT FALSE,
    remaining   INT          NOT NULL DEFAULT 0,
    updated_at  DATETIME(6)  NULL,
    PRIMARY KEY (app_id, open_id, template_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Subscribe messages to send, a queue of leased jobs (see ports.Queue): the
-- columns from lane to done_at are every queue's, the others the outbox's.
-- One message per (app, idempotency key); a sent event finds its message
-- by (app, msg_id).
CREATE TABLE wx_message_outbox (
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
    idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    open_id         VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    template_id     VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request         MEDIUMTEXT   NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    msg_id          BIGINT       NOT NULL DEFAULT 0,
    err_code        INT          NOT NULL DEFAULT 0,
    unknown_count   INT          NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY wx_message_outbox_key (app_id, idempotency_key),
    KEY wx_message_outbox_msg_id (app_id, msg_id),
    KEY wx_message_outbox_pending (state, id),
    KEY wx_message_outbox_lane (lane, state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE wx_message_outbox;
DROP TABLE wx_subscriptions;
