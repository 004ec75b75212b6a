-- Work names the service product it belongs to, so the planned/unplanned
-- share can be read per product (Figures::load_by_week), from this index.
ALTER TABLE work_items ADD COLUMN service_product_id UUID REFERENCES service_products(id);
CREATE INDEX work_items_product_arrived ON work_items (org_id, service_product_id, created_at, kind);
