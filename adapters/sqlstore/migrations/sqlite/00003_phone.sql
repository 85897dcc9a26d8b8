-- +goose Up
-- The phone number the user shared (getPhoneNumber), looked up by app.
ALTER TABLE wx_users ADD COLUMN phone_number TEXT NOT NULL DEFAULT '';
ALTER TABLE wx_users ADD COLUMN pure_phone_number TEXT NOT NULL DEFAULT '';
ALTER TABLE wx_users ADD COLUMN country_code TEXT NOT NULL DEFAULT '';
CREATE INDEX wx_users_app_phone ON wx_users (app_id, pure_phone_number);

-- +goose Down
DROP INDEX wx_users_app_phone;
ALTER TABLE wx_users DROP COLUMN country_code;
ALTER TABLE wx_users DROP COLUMN pure_phone_number;
ALTER TABLE wx_users DROP COLUMN phone_number;
