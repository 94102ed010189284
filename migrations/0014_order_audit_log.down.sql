DROP TRIGGER orders_status_audit ON orders;
DROP FUNCTION log_order_status();
DROP TABLE order_audit_log;
