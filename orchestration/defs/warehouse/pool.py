"""The one concurrency pool for every Dagster step that opens the warehouse file.

DuckDB allows one writer per file, and while a process holds the file read-write no other
process can open it at all (not even read-only). So every step that opens the warehouse --
the dbt build, an extract load, a retention run and its check, the analyst publish, the
backup snapshot -- declares ``pool=WAREHOUSE_POOL``, and the instance config
(``orchestration/dagster_home/dagster.yaml``: ``concurrency.pools.default_limit: 1``) lets one
such step run at a time; the others wait in the queue instead of failing on DuckDB's lock.
"""

WAREHOUSE_POOL = "warehouse"
