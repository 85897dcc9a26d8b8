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

-- +goose Down
DROP TABLE wx_subscriptions;
