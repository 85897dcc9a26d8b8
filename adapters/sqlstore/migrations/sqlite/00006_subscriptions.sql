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

-- +goose Down
DROP TABLE wx_subscriptions;
