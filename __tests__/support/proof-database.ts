// A database of values whose text is easy to get wrong, and one change per table that keeps its row count.

/** Values whose text is easy to get wrong: every byte, NULL and '', arrays, JSON, floats at full precision. */
export const PROOF_SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, name text, note text);
  INSERT INTO items SELECT g, 'item ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('n', g % 5) END FROM generate_series(1, 400) g;
  CREATE TABLE pairs (a int, b text);
  INSERT INTO pairs SELECT g % 50, 'v' || (g % 50) FROM generate_series(1, 300) g;
  CREATE TABLE bytes (id int, b bytea);
  INSERT INTO bytes SELECT 1, decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex') FROM generate_series(0, 255) g;
  INSERT INTO bytes SELECT g, decode(md5(g::text), 'hex') FROM generate_series(2, 50) g;
  CREATE TABLE blanks (a text, b text);
  INSERT INTO blanks VALUES (NULL, ''), ('', NULL), (NULL, NULL), ('', ''), (E'tab\\there', E'line\\nbreak'), (E'back\\\\slash', '\\N');
  CREATE TABLE arrays (i int[], t text[], n numeric[]);
  INSERT INTO arrays VALUES ('{1,NULL,3}', '{"a,b","{c}",NULL,""}', '{1.50,2.0}'), ('{}', '{}', '{}'), ('{{1,2},{3,4}}', '{"quote\\"d"}', NULL);
  CREATE TABLE documents (id int, j jsonb, js json);
  INSERT INTO documents VALUES (1, '{"b": 1, "a": [2, {"d": null, "c": 3.10}]}', '{"b": 1,   "a": 2}'), (2, '{"a": 2, "b": 1}', '[]');
  CREATE TABLE floats (f8 float8, f4 float4, n numeric);
  INSERT INTO floats VALUES (0.1 + 0.2, 1/3::float4, 0.1 + 0.2), (1e-300, 3.4e38, 1e-30), ('NaN', 'Infinity', 'NaN'), (-0.0, '-Infinity', 0);
  CREATE TABLE stamps (at timestamptz, d date, i interval, m money);
  INSERT INTO stamps SELECT timestamptz '2024-03-31 01:30:00+00' + g * interval '7 hours', date '2024-02-28' + g, g * interval '1 day 3 min', g * 1.25 FROM generate_series(1, 60) g;
  CREATE TABLE generated (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
  INSERT INTO generated (a) SELECT generate_series(1, 100);
  CREATE TABLE measurements (at date, value int) PARTITION BY RANGE (at);
  CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  INSERT INTO measurements SELECT date '2024-06-01' + g, g FROM generate_series(1, 400) g;
  CREATE TABLE typed (t regtype, c regclass);
  INSERT INTO typed VALUES ('int4', 'items'), ('text[]', 'pairs'), ('timestamptz', 'pg_catalog.pg_class');
  CREATE TABLE "Empty Table" (x int);
  CREATE TABLE blobs (id int, body oid);
  INSERT INTO blobs SELECT 1, lo_from_bytea(0, decode(repeat('00ff7f', 3000), 'hex'));`

/** One change per table, each keeping the row count where the point is that only the content differs. */
export const DAMAGE: Record<string, string> = {
  'public.items': "UPDATE items SET note = 'changed' WHERE id = 7",
  'public.pairs': "DELETE FROM pairs WHERE ctid = (SELECT min(ctid) FROM pairs WHERE a = 3); INSERT INTO pairs VALUES (4, 'v4')",
  'public.bytes': "UPDATE bytes SET b = overlay(b PLACING '\\x00'::bytea FROM 129 FOR 1) WHERE id = 1",
  'public.blanks': "UPDATE blanks SET b = '' WHERE a = '' AND b IS NULL",
  'public.arrays': 'UPDATE arrays SET t = \'{"a,b","{c}",NULL,NULL}\' WHERE t[1] = \'a,b\'',
  'public.documents': 'UPDATE documents SET js = \'{"a": 2,   "b": 1}\' WHERE id = 1',
  'public.floats': 'UPDATE floats SET f8 = 0.30000000000000004 + 5e-17 WHERE f8 = 0.1 + 0.2',
  'public.stamps': "UPDATE stamps SET at = at + interval '1 microsecond' WHERE d = date '2024-02-29'",
  'public.generated': 'UPDATE generated SET a = 1000 WHERE a = 10',
  'public.measurements_2025': "UPDATE measurements SET value = -1 WHERE at = date '2025-01-01'"
}
