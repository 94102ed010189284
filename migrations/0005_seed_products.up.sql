-- Reference data the application expects to exist.
INSERT INTO products (sku, title, price_cents) VALUES
    ('TEA-001', 'Sencha, 100 g', 1290),
    ('TEA-002', 'Assam; strong breakfast blend', 990),
    ('CUP-001', 'Stoneware cup', 2450);
