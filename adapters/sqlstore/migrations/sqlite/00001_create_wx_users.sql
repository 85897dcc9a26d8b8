-- +goose Up
CREATE TABLE wx_users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT     NOT NULL,
    open_id     TEXT     NOT NULL,
    union_id    TEXT     NOT NULL DEFAULT '',
    nick_name   TEXT     NOT NULL DEFAULT '',
    avatar_url  TEXT     NOT NULL DEFAULT '',
    gender      INTEGER  NOT NULL DEFAULT 0,
    language    TEXT     NOT NULL DEFAULT '',
    city        TEXT     NOT NULL DEFAULT '',
    province    TEXT     NOT NULL DEFAULT '',
    country     TEXT     NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (app_id, open_id)
);
CREATE INDEX wx_users_union_id ON wx_users (union_id);

-- +goose Down
DROP TABLE wx_users;
