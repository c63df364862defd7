"""The reliability suite: faults a real operator meets, each injected on purpose.

It reuses the synthetic trust of tests/python/conftest.py (generated, loaded and built once per
session); every test works on its own copy. ``make test`` runs the suite in its short form;
``make reliability`` sets ``TINYTRACKER_RELIABILITY=long`` for every fault point, more random
kills and more generated corruptions (figures in docs/reliability.md).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PYTHON_TESTS = Path(__file__).resolve().parents[1] / "python"
sys.path.insert(0, str(_PYTHON_TESTS))
_spec = importlib.util.spec_from_file_location("python_conftest", _PYTHON_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
python_conftest = importlib.util.module_from_spec(_spec)
sys.modules["python_conftest"] = python_conftest
_spec.loader.exec_module(python_conftest)

synthetic_template = python_conftest.synthetic_template
synthetic_warehouse = python_conftest.synthetic_warehouse
applied = python_conftest.applied
after_apply = python_conftest.after_apply

from helpers import LONG  # noqa: E402 - after the path set-up above


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "long: part of the long form only (make reliability), not of make test"
    )


def pytest_collection_modifyitems(config, items) -> None:
    if LONG:
        return
    import pytest

    skip = pytest.mark.skip(reason="long form only: make reliability")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)
