-- sluice:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;
