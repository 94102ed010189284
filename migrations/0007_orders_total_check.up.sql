-- NOT VALID first: adding the constraint does not scan the table under a strong lock.
ALTER TABLE orders ADD CONSTRAINT orders_total_nonnegative CHECK (total_cents >= 0) NOT VALID;
-- sluice:allow validate-in-same-transaction orders is still empty when this runs; on a loaded table validate in the next migration
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_nonnegative;
