-- A constant default: since PostgreSQL 11 this does not rewrite the table.
ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
