-- The benchmark's many-tables dataset: :tables small tables (a key, a name, a timestamp, three rows
-- each, a primary key and an index), spread over ten schemas, the way a multi-tenant or
-- many-module application grows. Committed every 500 tables so no one transaction needs a lock per table.
CREATE PROCEDURE make_many_tables(total int) LANGUAGE plpgsql AS $$
DECLARE
  schema_name text;
BEGIN
  FOR s IN 0..9 LOOP
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS module_%s', s);
  END LOOP;
  FOR i IN 1..total LOOP
    schema_name := format('module_%s', i % 10);
    EXECUTE format(
      'CREATE TABLE %I.item_%s (id int PRIMARY KEY, name text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())',
      schema_name, i);
    EXECUTE format('CREATE INDEX ON %I.item_%s (changed_at)', schema_name, i);
    EXECUTE format('INSERT INTO %I.item_%s (id, name) SELECT g, %L || g FROM generate_series(1, 3) g', schema_name, i,
      format('item %s row ', i));
    IF i % 500 = 0 THEN
      COMMIT;
    END IF;
  END LOOP;
END $$;
CALL make_many_tables(:tables);
DROP PROCEDURE make_many_tables(int);
