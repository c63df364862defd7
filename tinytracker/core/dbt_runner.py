"""dbt in this process (``dbtRunner``), with the project parsed once and the parse reused.

A dbt subprocess pays twice before its first node: importing dbt (about 2 s of CPU) and
parsing the project. And dbt parses the whole project again whenever ``--vars`` differ from
the last parse ("Unable to do partial parsing because config vars ... changed"), which a new
``as_of`` did on every build for a date and every alternation of plan and apply.

Here dbt runs in the command's own process. The project is parsed once per process with only
the vars that change what the parse produces (a dry run's ``retention_schema``, which moves
the retention models into another schema); ``as_of`` is not among them. The parsed manifest
is handed to every later invocation with the full ``--vars``: dbt then compiles each node
with them (``var('as_of')`` in SQL is rendered at compile time) and never parses again. A
fresh process still starts from dbt's partial parse (``partial_parse.msgpack`` in the target
folder), whose vars are now the same on every run, so that is partial too.

Two rules make this safe:

- dbt-duckdb opens the warehouse through DuckDB in this process. The command's own
  connections must be closed while dbt runs (DuckDB refuses a second connection to the same
  file with another configuration), and dbt-duckdb closes its own at the end of each
  invocation, so the file is free again when :func:`invoke` returns. The command lock
  (:mod:`tinytracker.core.lock`) is per process: dbt is inside it.
- ``dbtRunner`` is neither re-entrant nor thread-safe: invocations are serialised by a lock.

What a subprocess did with its environment is done here for the length of one invocation:
dbt opens the file by name from its own folder (see :func:`tinytracker.core.dbt.run_dbt`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytracker.core import paths, progress

_LOCK = threading.RLock()
_MANIFESTS: dict[tuple[str, ...], Any] = {}
"""Parsed manifests by (target folder, warehouse file name, parse vars, project state)."""
parses = 0
"""How many times this process parsed the project (a test can see a parse was reused)."""

SAVED_PARSE = "tinytracker_parse.pickle"
"""The parsed project a command saves in dbt's target folder for the next command."""

# what dbt reads to parse the project: a change to any of them makes the cached parse stale
PROJECT_INPUTS = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")


@dataclass
class Invocation:
    """One in-process dbt command: its exit code (dbt's: 0 passed, 1 failed, 2 error), the
    nodes that failed or errored, and whether it had to parse the project first."""

    exit_code: int
    failed: list[str] = field(default_factory=list)
    parsed: bool = False


def project_state() -> str:
    """A cheap fingerprint of the project's files (count and newest mtime): a model edited
    while a process lives (``dagster dev``) is parsed again, never served stale."""
    count, newest = 0, 0
    for name in PROJECT_INPUTS:
        root = paths.PROJECT_DIR / name
        if root.is_file():
            count, newest = count + 1, max(newest, root.stat().st_mtime_ns)
            continue
        for folder, _dirs, files in os.walk(root):
            for file in files:
                count += 1
                newest = max(newest, os.stat(os.path.join(folder, file)).st_mtime_ns)
    return f"{count}:{newest}"


@contextmanager
def dbt_environment(db: Path, env: Mapping[str, str]) -> Iterator[None]:
    """The working folder and environment one dbt invocation sees, restored afterwards."""
    saved = {name: os.environ.get(name) for name in env}
    cwd = os.getcwd()
    os.environ.update(env)
    os.chdir(db.parent)
    try:
        yield
    finally:
        os.chdir(cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def common_args(target_path: Path | None) -> list[str]:
    project = str(paths.PROJECT_DIR)
    args = ["--profiles-dir", project, "--project-dir", project]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    return args


def _parse_key(target: str, parse_vars: Mapping[str, str], db: Path) -> tuple[str, ...]:
    """What a parse depends on besides dbt itself: target folder, warehouse file name (dbt
    names the database after it), parse vars, the project's files and our environment (a
    hash of it: the secret is in it and the key is written to disk)."""
    from dbt.version import __version__ as dbt_version

    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("TINYTRACKER_"))
    digest = hashlib.sha256(json.dumps([dbt_version, environment]).encode()).hexdigest()
    return (target, db.name, json.dumps(dict(parse_vars), sort_keys=True), project_state(), digest)


def _saved_parse(target: str, key: tuple[str, ...]) -> Any | None:
    """The parse a previous command saved for exactly this key (see :func:`_save_parse`)."""
    path = paths.in_project(target) / SAVED_PARSE
    try:
        with open(path, "rb") as handle:
            saved_key, manifest = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
        return None
    return manifest if saved_key == list(key) else None


def _manifest_from_fields(fields: dict[str, Any]) -> Any:
    from dbt.contracts.graph.manifest import Manifest

    return Manifest(**fields)


class _ManifestPickler(pickle.Pickler):
    """Pickles dbt's Manifest by its public fields only (dbt 1.11's own ``__reduce_ex__``
    leaves ``fixtures`` out and shifts every later field): the lookups and the lock are
    rebuilt on first use after loading."""

    def reducer_override(self, obj: Any) -> Any:
        from dbt.contracts.graph.manifest import Manifest

        if type(obj) is not Manifest:
            return NotImplemented
        fields = {
            f.name: getattr(obj, f.name)
            for f in dataclasses.fields(obj)
            if not f.name.startswith("_")
        }
        return _manifest_from_fields, (fields,)


def _save_parse(target: str, key: tuple[str, ...], manifest: Any) -> None:
    """Keep the parsed project beside dbt's own partial-parse file: loading it takes a tenth
    of a second where dbt's partial parse of an unchanged project takes more than one."""
    path = paths.in_project(target) / SAVED_PARSE
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as handle:
            _ManifestPickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump((list(key), manifest))
        os.replace(partial, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        partial.unlink(missing_ok=True)


def _manifest(
    target_path: Path | None, parse_vars: Mapping[str, str], db: Path
) -> tuple[Any, bool]:
    """The parsed project for these parse vars, from this process's cache, the parse a
    previous command saved, or a (partial) parse; and whether a parse ran."""
    from dbt.cli.main import dbtRunner

    target = str(target_path or os.environ.get("DBT_TARGET_PATH") or "target")
    key = _parse_key(target, parse_vars, db)
    if key in _MANIFESTS:
        return _MANIFESTS[key], False
    manifest = _saved_parse(target, key)
    parsed = manifest is None
    if manifest is None:
        args = ["parse", "--quiet", *common_args(target_path)]
        if parse_vars:
            args += ["--vars", json.dumps(dict(parse_vars))]
        global parses
        parses += 1
        result = dbtRunner().invoke(args)
        if not result.success or result.result is None:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        manifest = result.result
        _save_parse(target, key, manifest)
    for stale in [k for k in _MANIFESTS if k[:3] == key[:3]]:
        del _MANIFESTS[stale]
    _MANIFESTS[key] = manifest
    return manifest, parsed


class NodeProgress:
    """dbt's events as progress reports (core/progress.py): how many nodes were selected, then
    each node's start and finish, so a build of minutes is not minutes of silence. dbt calls
    it from its worker threads."""

    def __init__(self) -> None:
        self.total = 0
        self.positions: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        kind = event.info.name
        if kind == "ConcurrencyLine":
            self.total = int(event.data.node_count)
            return
        if kind not in ("NodeStart", "NodeFinished"):
            return
        node = event.data.node_info
        with self._lock:
            index = self.positions.setdefault(node.unique_id, len(self.positions) + 1)
        if kind == "NodeStart":
            status = "started"
        else:
            status = str(getattr(event.data.run_result, "status", "") or node.node_status)
        progress.dbt_node(node.node_name, status, index, max(self.total, index))


def invoke(
    args: Sequence[str],
    *,
    db: Path,
    env: Mapping[str, str],
    parse_vars: Mapping[str, str],
    target_path: Path | None,
) -> Invocation:
    """Run ``dbt ARGS`` in this process on the parse for ``parse_vars``; see the module doc."""
    from dbt.cli.main import dbtRunner

    with _LOCK, dbt_environment(db, env):
        try:
            manifest, parsed = _manifest(target_path, parse_vars, db)
        except RuntimeError as error:
            print(error)
            return Invocation(2, parsed=True)
        try:
            result = dbtRunner(manifest=manifest, callbacks=[NodeProgress()]).invoke(list(args))
        finally:
            release_warehouse()
    if result.exception is not None:
        print(f"dbt: {result.exception}")
        return Invocation(2, parsed=parsed)
    failed = [
        str(node.node.unique_id).split(".")[2]
        for node in getattr(result.result, "results", None) or []
        if str(node.status) in ("error", "fail", "runtime error")
    ]
    return Invocation(0 if result.success else 1, failed, parsed)


def release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after an invocation.

    dbt-duckdb holds its environment (and the DuckDB instance) in a class attribute until the
    interpreter exits. In process, that would keep the file open in this process, so the
    command's next own connection (another configuration) would be refused and another
    process could not open it at all.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def forget_parsed_projects() -> None:
    """Drop the cached parses (a test that edits the project, or frees the memory)."""
    with _LOCK:
        _MANIFESTS.clear()
