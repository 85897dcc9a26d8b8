-- +goose Up
-- The phone number the user shared (getPhoneNumber), looked up by app.
ALTER TABLE wx_users
    ADD COLUMN phone_number      VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN pure_phone_number VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN country_code      VARCHAR(8)  NOT NULL DEFAULT '';
CREATE INDEX wx_users_app_phone ON wx_users (app_id, pure_phone_number);

-- +goose Down
DROP INDEX wx_users_app_phone;
ALTER TABLE wx_users DROP COLUMN country_code, DROP COLUMN pure_phone_number, DROP COLUMN phone_number;
