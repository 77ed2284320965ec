-- pgbench-style tables of narrow rows at scale :scale, each with its primary key (the history without one).
CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));
CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));

INSERT INTO pgbench_branches SELECT b, 0, '' FROM generate_series(1, :scale) b;
INSERT INTO pgbench_tellers SELECT t, (t - 1) / 10 + 1, 0, '' FROM generate_series(1, :scale * 10) t;
INSERT INTO pgbench_accounts SELECT a, (a - 1) / 100000 + 1, 0, '' FROM generate_series(1, :scale * 100000) a;
INSERT INTO pgbench_history
SELECT (g % (:scale * 10)) + 1, (g % :scale) + 1, ((g::bigint * 7919) % (:scale * 100000))::int + 1, g % 1000 - 500,
       timestamp '2026-01-01' + g * interval '1 second', 'history'
  FROM generate_series(1, :scale * 20000) g;
