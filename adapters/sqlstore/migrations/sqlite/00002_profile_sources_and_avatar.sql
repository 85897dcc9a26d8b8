-- +goose Up
-- user_fields: the profile fields the user filled in (domain.Fields bits);
-- avatar_object: the content-addressed name of the avatar the user uploaded.
ALTER TABLE wx_users ADD COLUMN user_fields INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wx_users ADD COLUMN avatar_object TEXT NOT NULL DEFAULT '';
CREATE INDEX wx_users_avatar_object ON wx_users (avatar_object);

-- +goose Down
DROP INDEX wx_users_avatar_object;
ALTER TABLE wx_users DROP COLUMN avatar_object;
ALTER TABLE wx_users DROP COLUMN user_fields;
