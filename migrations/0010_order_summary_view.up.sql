CREATE VIEW order_summary AS
SELECT o.id,
       u.email,
       o.status,
       order_total(o.id) AS total_cents,
       o.created_at
  FROM orders o
  JOIN users u ON u.id = o.user_id;
