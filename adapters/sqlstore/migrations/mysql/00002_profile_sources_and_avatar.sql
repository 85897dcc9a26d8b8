-- +goose Up
-- user_fields: the profile fields the user filled in (domain.Fields bits);
-- avatar_object: the content-addressed name of the avatar the user uploaded.
ALTER TABLE wx_users
    ADD COLUMN user_fields   SMALLINT    NOT NULL DEFAULT 0,
    ADD COLUMN avatar_object VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD KEY wx_users_avatar_object (avatar_object);

-- +goose Down
ALTER TABLE wx_users DROP KEY wx_users_avatar_object, DROP COLUMN avatar_object, DROP COLUMN user_fields;
