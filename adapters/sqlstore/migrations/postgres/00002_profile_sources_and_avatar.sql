-- +goose Up
-- user_fields: the profile fields the user filled in (domain.Fields bits);
-- avatar_object: the content-addressed name of the avatar the user uploaded.
ALTER TABLE wx_users
    ADD COLUMN user_fields   SMALLINT    NOT NULL DEFAULT 0,
    ADD COLUMN avatar_object VARCHAR(80) NOT NULL DEFAULT '';
CREATE INDEX wx_users_avatar_object ON wx_users (avatar_object);

-- +goose Down
DROP INDEX wx_users_avatar_object;
ALTER TABLE wx_users DROP COLUMN avatar_object, DROP COLUMN user_fields;
