-- +goose Up
-- Users' consent to subscribe messages, per template (see domain.Consent):
-- the last answer, whether the template is long-term, and the one-time
-- allowances left.
CREATE TABLE wx_subscriptions (
    app_id      VARCHAR(64)  NOT NULL,
    open_id     VARCHAR(64)  NOT NULL,
    template_id VARCHAR(128) NOT NULL,
    status      VARCHAR(16)  NOT NULL DEFAULT '',
    long_term   BOOLEAN      NOT NULL DEFAULT FALSE,
    remaining   INTEGER      NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ  NULL,
    PRIMARY KEY (app_id, open_id, template_id)
);

-- +goose Down
DROP TABLE wx_subscriptions;
