ALTER TABLE users ADD COLUMN display_name text;

-- Backfill: the part of the e-mail before the @ when no name was given.
UPDATE users
   SET display_name = coalesce(name, split_part(email, '@', 1))
 WHERE display_name IS NULL;
