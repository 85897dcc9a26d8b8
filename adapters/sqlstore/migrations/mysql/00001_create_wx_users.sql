-- +goose Up
-- Identifiers compare byte for byte (openids are case-sensitive); profile text
-- is utf8mb4, so emoji and every 4-byte character fit.
CREATE TABLE wx_users (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    app_id      VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    open_id     VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    union_id    VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    nick_name   VARCHAR(100)  NOT NULL DEFAULT '',
    avatar_url  VARCHAR(1024) NOT NULL DEFAULT '',
    gender      TINYINT       NOT NULL DEFAULT 0,
    language    VARCHAR(35)   NOT NULL DEFAULT '',
    city        VARCHAR(100)  NOT NULL DEFAULT '',
    province    VARCHAR(100)  NOT NULL DEFAULT '',
    country     VARCHAR(100)  NOT NULL DEFAULT '',
    created_at  DATETIME(6)   NOT NULL,
    updated_at  DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY wx_users_app_open (app_id, open_id),
    KEY wx_users_union_id (union_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE wx_users;
