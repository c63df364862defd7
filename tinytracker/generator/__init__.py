"""Synthetic MIS extracts in the landing contract, for demos, tests and load testing.

``generate_extract(GeneratorConfig(out=...))`` writes one extract folder: one file per
landing file with exactly the contract's columns. Same options -> byte-identical files.
Modules, in the order the data is built: ``organisations`` (the contract states),
``pupils`` (rolls, characteristics, UPNs), ``household`` (contacts, SEN), ``assessments``,
``staff`` (employees, reports), ``records`` (correspondence, setup imports), ``attendance``
(DuckDB, set-based), ``faults`` (``--inject-errors``), ``writer`` and ``build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinytracker.generator.config import DEFAULT_EXTRACT_DATE, GeneratorConfig

if TYPE_CHECKING:
    from tinytracker.generator.build import GenerationSummary, generate_extract

__all__ = ["DEFAULT_EXTRACT_DATE", "GenerationSummary", "GeneratorConfig", "generate_extract"]

_BUILD_NAMES = ("GenerationSummary", "generate_extract")


def __getattr__(name: str) -> Any:
    """The build (Faker, numpy, pyarrow: about 0.1 s to import) only when it is asked for:
    every ``tinytracker`` command imports this package for the ``generate`` command's
    defaults (``config``), and only ``generate`` builds anything."""
    if name in _BUILD_NAMES:
        from tinytracker.generator import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
