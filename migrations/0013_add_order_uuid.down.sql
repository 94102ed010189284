ALTER TABLE orders DROP COLUMN order_uuid;
