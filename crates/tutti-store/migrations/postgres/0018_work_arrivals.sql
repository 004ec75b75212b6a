-- The work that arrived per ISO week, by team, service product and kind,
-- counted in the transaction that creates (or re-kinds, or moves) the work:
-- the load chart reads a few rows per week however much work there is
-- (Figures::load_by_week). No team or no product is the nil UUID, since a
-- NULL never matches in a primary key.
CREATE TABLE work_arrivals (
    org_id              UUID NOT NULL REFERENCES orgs(id),
    week                DATE NOT NULL,
    team_id             UUID NOT NULL,
    service_product_id  UUID NOT NULL,
    kind                TEXT NOT NULL,
    count               BIGINT NOT NULL,
    PRIMARY KEY (org_id, week, team_id, service_product_id, kind)
);
INSERT INTO work_arrivals (org_id, week, team_id, service_product_id, kind, count)
SELECT org_id, (date_trunc('week', created_at AT TIME ZONE 'UTC'))::date,
       COALESCE(team_id, '00000000-0000-0000-0000-000000000000'::uuid),
       COALESCE(service_product_id, '00000000-0000-0000-0000-000000000000'::uuid), kind, COUNT(*)
FROM work_items
GROUP BY 1, 2, 3, 4, 5;
-- The indexes the per-week counts were read from before.
DROP INDEX work_items_arrived;
DROP INDEX work_items_product_arrived;
