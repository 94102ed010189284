-- Risky on purpose: a volatile default rewrites orders under an ACCESS EXCLUSIVE lock.
-- The lint flags it; the safe way is to add the column without a default, backfill in
-- batches, then set the default and NOT NULL.
ALTER TABLE orders ADD COLUMN order_uuid uuid NOT NULL DEFAULT gen_random_uuid();
