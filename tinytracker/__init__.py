"""Tiny Tracker retention warehouse: the library and the ``tinytracker`` command line.

Layers point one way (checked by import-linter, see ``pyproject.toml``)::

    cli -> backup -> retention | rights | loading | publishing | reporting -> erasure -> core

``core`` is paths, settings, the warehouse connection and its lock, the schema dbt does not
own, dates and dbt invocation; ``erasure`` is the one engine that deletes or anonymises rows
of ``raw.*``. The Dagster code location (``orchestration/``) imports this package; nothing
here imports it.
"""
