"""Synthetic MIS extracts in the landing contract, for demos, tests and load testing.

``generate_extract(GeneratorConfig(out=...))`` writes one extract folder: one file per
landing file with exactly the contract's columns. Same options -> byte-identical files.
Modules, in the order the data is built: ``organisations`` (the contract states),
``pupils`` (rolls, characteristics, UPNs), ``household`` (contacts, SEN), ``assessments``,
``staff`` (employees, reports), ``records`` (correspondence, setup imports), ``attendance``
(DuckDB, set-based), ``faults`` (``--inject-errors``), ``writer`` and ``build``.
"""

from tinytracker.generator.build import GenerationSummary, generate_extract
from tinytracker.generator.config import DEFAULT_EXTRACT_DATE, GeneratorConfig

__all__ = ["DEFAULT_EXTRACT_DATE", "GenerationSummary", "GeneratorConfig", "generate_extract"]
