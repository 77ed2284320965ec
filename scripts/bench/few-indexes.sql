-- The few-indexes dataset: pgbench-style tables of narrow rows at scale :scale, and a jsonb table of
-- :json_rows rows with only its primary key. One large table is most of it: restored by one
-- session, read back by one, unless the work is split.
\ir pgbench-tables.sql

CREATE TABLE events (
  id bigint PRIMARY KEY,
  payload jsonb NOT NULL
);
INSERT INTO events
SELECT g, jsonb_build_object('id', g, 'kind', 'event-' || (g % 23), 'user', 'user' || (g % 5000),
                             'tags', jsonb_build_array('alpha', 'beta', g % 17), 'note', repeat(md5(g::text), 12))
  FROM generate_series(1, :json_rows) g;
ANALYZE;
