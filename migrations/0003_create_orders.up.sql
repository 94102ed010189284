CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    status text NOT NULL DEFAULT 'new',
    total_cents integer,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON COLUMN orders.status IS 'new; paid; shipped; cancelled';
