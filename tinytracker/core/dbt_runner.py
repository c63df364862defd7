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
fresh process loads the parse an earlier command saved (``target/parses`` in the project,
whatever target folder dbt writes to; in the target folder when the project cannot be
written), unless the project's files, the parse vars or an env var the project reads while
parsing changed since; only then does dbt parse (partially, from its
``partial_parse.msgpack``, when the target folder has one, and in full when that fails).
What else a new process paid before dbt's first node is trimmed the same way: the JSON
schemas dbt validates its configuration against are kept beside the saved parses
(:mod:`tinytracker.core.dbt_schemas`), and Python's collector stays off while dbt is imported
and the parse loaded (:class:`_StartupCollection`).

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
import gc
import hashlib
import json
import os
import pickle
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tinytracker.core import dbt_schemas, paths, progress

_LOCK = threading.RLock()


class _StartupCollection:
    """Python's cyclic collector kept off while a process first imports dbt and loads a saved
    parse, and what they made frozen out of its reach afterwards (``gc.freeze``).

    Both make hundreds of thousands of objects that live as long as the process (dbt's
    classes, the manifest's nodes); the collector walks all of them again at every
    generation-2 pass while they are being made, and at every full pass after (dbt writing
    manifest.json at the end of each command). Measured on a warehouse of 1,000 pupils
    (``tinytracker build --select`` one model for a new date): 3.1-3.3 s to dbt's first
    node and 4.5-4.7 s in all with the collector on, 2.8 s and 3.7 s with this.

    Only the first invocation in a process does it: a later one finds dbt imported, and
    freezing again would keep the garbage of the invocations before it for the process's
    life. A parse (which makes garbage as it goes) runs with the collector back on, and a
    caller that turned the collector off itself keeps it off."""

    def __init__(self) -> None:
        self.started = False
        self.paused = False

    def pause(self) -> None:
        if not self.started and gc.isenabled():
            gc.disable()
            self.paused = True
        self.started = True

    def resume(self) -> None:
        if self.paused:
            gc.freeze()
            gc.enable()
            self.paused = False


_STARTUP = _StartupCollection()


class _Parse(NamedTuple):
    """A parsed project with the env vars its parse read and a digest of their values then."""

    env_names: list[str]
    env_digest: str
    manifest: Any

    def is_current(self) -> bool:
        """Whether those env vars still have the values the parse saw."""
        return self.env_digest == _env_digest(self.env_names)


_MANIFESTS: dict[tuple[str, ...], _Parse] = {}
"""Parsed projects by :func:`_parse_key`."""
parses = 0
"""How many times this process parsed the project (a test can see a parse was reused)."""

SAVED_PARSES = Path("target") / "parses"
"""Where a command saves the parsed project for the next one (under the project folder, one
file per warehouse file name and parse vars): shared by every target folder, since nothing in
a parse depends on where dbt writes its artefacts."""

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
        for folder, dirs, files in os.walk(root):
            # bytecode Python writes beside tests/python's modules as they are imported is
            # nothing dbt reads: it must not make every later command parse again
            dirs[:] = [d for d in dirs if d != "__pycache__"]
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


def _parse_key(parse_vars: Mapping[str, str], db: Path) -> tuple[str, ...]:
    """What a parse depends on besides the environment: dbt's version, the warehouse file
    name (dbt names the database after it; the profile sees only the name), the parse vars
    and the project's files. The environment is checked apart (:func:`_env_digest`)."""
    from dbt.version import __version__ as dbt_version

    return (dbt_version, db.name, json.dumps(dict(parse_vars), sort_keys=True), project_state())


def _env_digest(names: Sequence[str]) -> str:
    """A digest of the current values of the env vars a parse read. dbt records every
    ``env_var()`` the project calls while parsing (``Manifest.env_vars``); only those can
    change what a parse produces, so the secret, the backup folder or the warehouse's full
    path (which dbt never reads: the profile gets the name) do not make a parse stale. Hashed:
    the digest is written to disk."""
    values = [(name, os.environ.get(name)) for name in sorted(names)]
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


def _saved_parse_paths(key: tuple[str, ...], target: str) -> list[Path]:
    """Where the parse for ``key`` is saved, in the order tried: the project's
    ``target/parses``, then dbt's target folder, for an install whose project folder cannot be
    written (a read-only image with DBT_TARGET_PATH pointing elsewhere)."""
    name = hashlib.sha256(json.dumps(list(key[:3])).encode()).hexdigest()[:16]
    folders = dict.fromkeys([paths.in_project(SAVED_PARSES), paths.in_project(target) / "parses"])
    return [folder / f"{name}.pickle" for folder in folders]


def _saved_parse(key: tuple[str, ...], target: str) -> _Parse | None:
    """The parse a previous command saved for exactly this key (see :func:`_save_parse`)."""
    for path in _saved_parse_paths(key, target):
        try:
            with open(path, "rb") as handle:
                saved_key, names, digest, manifest = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            continue
        if saved_key == list(key):
            return _Parse(names, digest, manifest)
    return None


def saved_parse_files() -> list[Path]:
    """The parses commands saved for this project (one per warehouse name and parse vars)."""
    return sorted(paths.in_project(SAVED_PARSES).glob("*.pickle"))


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


def _save_parse(key: tuple[str, ...], target: str, parsed: _Parse) -> None:
    """Keep the parsed project for the next command: loading it takes a tenth of a second
    where dbt's partial parse of an unchanged project takes more than one, and a full parse
    (a new target folder: a dry run's, a test's) three to six. Written under a name of its
    own and renamed, so two commands saving at once never leave half a file; in the first of
    :func:`_saved_parse_paths` that can be written."""
    for path in _saved_parse_paths(key, target):
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as handle:
                _ManifestPickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(
                    (list(key), *parsed)
                )
            os.replace(partial, path)
            return
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            with suppress(OSError):  # no folder to hold it: nothing was written
                partial.unlink(missing_ok=True)


def _manifest(
    target_path: Path | None, parse_vars: Mapping[str, str], db: Path
) -> tuple[Any, bool]:
    """The parsed project for these parse vars, from this process's cache, the parse a
    previous command saved, or a (partial) parse; and whether a parse ran."""
    from dbt.cli.main import dbtRunner

    key = _parse_key(parse_vars, db)
    target = str(target_path or os.environ.get("DBT_TARGET_PATH") or "target")
    found = _MANIFESTS.get(key)
    if found is None or not found.is_current():
        found = _saved_parse(key, target)
    if found is not None and found.is_current():
        _MANIFESTS[key] = found
        return found.manifest, False
    _STARTUP.resume()
    args = ["parse", "--quiet", *common_args(target_path)]
    if parse_vars:
        args += ["--vars", json.dumps(dict(parse_vars))]
    global parses
    parses += 1
    result = dbtRunner().invoke(args)
    if not result.success or result.result is None:
        # dbt's partial parse can fail on a project that parses: a macro's YAML entry taken
        # out and put back (a git checkout, a stash) leaves partial_parse.msgpack holding it
        # twice, "found two schema.yml entries for the same macro" (dbt-core #4233, #9616),
        # and every later command would fail the same way. Parsed once more from scratch, a
        # real error in the project fails again and is the one reported.
        print(f"dbt's partial parse failed ({_first_line(result.exception)}): parsing in full")
        parses += 1
        result = dbtRunner().invoke([*args, "--no-partial-parse"])
    if not result.success or result.result is None:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    manifest: Any = result.result
    names = sorted(manifest.env_vars)
    parsed = _Parse(names, _env_digest(names), manifest)
    _save_parse(key, target, parsed)
    for stale in [k for k in _MANIFESTS if k[:3] == key[:3]]:
        del _MANIFESTS[stale]
    _MANIFESTS[key] = parsed
    return manifest, True


def _first_line(error: BaseException | None) -> str:
    lines = [line.strip() for line in str(error or "no result").splitlines() if line.strip()]
    return " ".join(lines[:2])


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
    with _LOCK, dbt_environment(db, env):
        try:
            result, parsed = _invoke(args, db, parse_vars, target_path)
        finally:
            dbt_schemas.save()
    if result is None:
        return Invocation(2, parsed=True)
    if result.exception is not None:
        print(f"dbt: {result.exception}")
        return Invocation(2, parsed=parsed)
    failed = [
        str(node.node.unique_id).split(".")[2]
        for node in getattr(result.result, "results", None) or []
        if str(node.status) in ("error", "fail", "runtime error")
    ]
    return Invocation(0 if result.success else 1, failed, parsed)


def _invoke(
    args: Sequence[str], db: Path, parse_vars: Mapping[str, str], target_path: Path | None
) -> tuple[Any, bool]:
    """dbt's result and whether a parse ran; no result when the project did not parse."""
    _STARTUP.pause()
    try:
        from dbt.cli.main import dbtRunner

        dbt_schemas.install(paths.in_project(SAVED_PARSES))
        manifest, parsed = _manifest(target_path, parse_vars, db)
    except RuntimeError as error:
        print(error)
        return None, True
    finally:
        _STARTUP.resume()
    try:
        return dbtRunner(manifest=manifest, callbacks=[NodeProgress()]).invoke(list(args)), parsed
    finally:
        release_warehouse()


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
