ALTER TABLE users ADD COLUMN display_name text;

-- Backfill: the part of the e-mail before the @ when no name was given.
-- sluice:allow backfill-with-ddl users holds only the seed accounts at this point; a big table would get a batched backfill migration
UPDATE users
   SET display_name = coalesce(name, split_part(email, '@', 1))
 WHERE display_name IS NULL;
