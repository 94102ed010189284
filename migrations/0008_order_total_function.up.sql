CREATE FUNCTION order_total(p_order_id bigint) RETURNS bigint
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(sum(quantity::bigint * unit_price_cents), 0)
      FROM order_items
     WHERE order_id = p_order_id;
END;
