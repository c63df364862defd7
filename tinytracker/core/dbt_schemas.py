"""The JSON schemas dbt validates its configuration against, kept from one command to the next.

Before its first node, every dbt invocation validates the project, the profile, its flags and
the packages file against JSON schemas that mashumaro derives from dbt's dataclasses
(``dbtClassMixin.json_schema``). dbt caches them for the life of a process only, so each
``tinytracker`` command derived them again: about 0.3 s of a command's 3 s start on this
project (measured on 2 cores: ProjectFlags, the DuckDB credentials, Project, the packages,
selectors and the whole Configuration).

A schema depends only on the class's code, so it is saved here (a JSON file beside the saved
parses) with a fingerprint of the files it comes from: the module that defines the class,
dbt-common's schema mixin, mashumaro's schema builder and dbt's version file. A schema whose
fingerprint no longer matches (dbt, its adapter or mashumaro upgraded or edited) is derived
again; validation itself is unchanged, so a project or profile dbt rejects is still rejected.
Only classes a module names at top level are kept: a class made at run time may differ
between two classes of the same name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

_STORE = "json-schemas.json"
_lock = threading.Lock()
_loaded: dict[str, dict[str, Any]] = {}
_derived: dict[str, dict[str, Any]] = {}
_folder: Path | None = None
derivations = 0
"""How many schemas this process derived rather than read (a test can see the store served)."""


# the files every schema comes from besides its class's own module
_SHARED_SOURCES = ("dbt_common.dataclass_schema", "mashumaro.jsonschema.schema", "dbt.version")
_shared_stamp: str | None = None


def _stamp(module_name: str) -> str | None:
    """Path, size and modification time of a loaded module's file; None if it has none."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if file is None:
        return None
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return f"{file}:{stat.st_size}:{stat.st_mtime_ns}"


def _fingerprint(module_name: str) -> str | None:
    """A digest of the files a schema of a class in ``module_name`` comes from (the shared
    ones stamped once per process); None when one cannot be found (never saved then)."""
    global _shared_stamp
    if _shared_stamp is None:
        stamps = [_stamp(name) for name in _SHARED_SOURCES]
        if None in stamps:
            return None
        _shared_stamp = "\n".join(stamps)  # type: ignore[arg-type]
    own = _stamp(module_name)
    if own is None:
        return None
    return hashlib.sha256(f"{own}\n{_shared_stamp}".encode()).hexdigest()


def _class_key(cls: type) -> str | None:
    """``module:qualname`` for a class its module names at top level, else None."""
    module = sys.modules.get(cls.__module__)
    if module is None or getattr(module, cls.__qualname__, None) is not cls:
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def install(folder: Path) -> None:
    """Serve dbt's schemas from ``folder``'s store in this process from now on (the first call
    decides the folder; later calls do nothing); :func:`save` adds the ones derived since."""
    global _folder
    from dbt_common.dataclass_schema import dbtClassMixin

    with _lock:
        if _folder is not None:
            return
        _folder = folder
        _loaded.update(_read(folder / _STORE))
        derive = dbtClassMixin.json_schema.__func__  # type: ignore[attr-defined]
        served: dict[type, dict[str, Any]] = {}

        def json_schema(cls: type) -> dict[str, Any]:
            schema = served.get(cls)
            if schema is None:
                schema = served[cls] = _stored_or_derived(cls, derive)
            return schema

        dbtClassMixin.json_schema = classmethod(json_schema)  # type: ignore[assignment]


def _stored_or_derived(cls: type, derive: Any) -> dict[str, Any]:
    key = _class_key(cls)
    fingerprint = _fingerprint(cls.__module__) if key is not None else None
    if key is None or fingerprint is None:
        return derive(cls)  # type: ignore[no-any-return]
    entry = _loaded.get(key)
    if entry is not None and entry.get("fingerprint") == fingerprint:
        return entry["schema"]  # type: ignore[no-any-return]
    global derivations
    schema: dict[str, Any] = derive(cls)
    with _lock:
        derivations += 1
        _derived[key] = {"fingerprint": fingerprint, "schema": schema}
    return schema


def save() -> None:
    """Add the schemas derived since :func:`install` to the store, written whole under a name
    of its own and renamed (two commands at once never leave half a file). A folder that
    cannot be written only means the next command derives them again."""
    with _lock:
        if _folder is None or not _derived:
            return
        _loaded.update(_derived)
        _derived.clear()
        store = _folder / _STORE
        partial = store.with_name(f"{store.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            _folder.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({**_read(store), **_loaded}))
            os.replace(partial, store)
        except (OSError, TypeError, ValueError):
            with suppress(OSError):
                partial.unlink(missing_ok=True)


def _read(store: Path) -> dict[str, dict[str, Any]]:
    try:
        stored = json.loads(store.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {
        key: entry
        for key, entry in stored.items()
        if isinstance(entry, dict) and isinstance(entry.get("schema"), dict)
    }
