"""One streaming pass over a CSV file's bytes, before DuckDB reads it.

The pass is needed anyway for the load log's SHA-256 checksum, and it is cheap to learn three
more things on the way, at C speed (``bytes.count`` and numpy; no Python loop over rows):

* whether the file is UTF-8, and if not on which line it breaks (the whole load fails);
* the physical lines that end inside a quoted field (a value spanning lines), because DuckDB
  numbers *records* while people open the file at *lines*;
* the blank lines, which DuckDB's reader skips without a trace, so that the loader can give
  every row the line it really has in the file.
"""

from __future__ import annotations

import codecs
import hashlib
import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orchestration.errors import TinyTrackerError

CHUNK_BYTES = 8 * 1024 * 1024
QUOTE = ord('"')
NEWLINE = ord("\n")
CARRIAGE_RETURN = ord("\r")
BLANK_LINE_PATTERNS = (b"\n\n", b"\n\r\n")


@dataclass(frozen=True)
class CsvScan:
    """What the byte pass learnt about one CSV file."""

    checksum: str
    """SHA-256 of the file bytes (hex)."""
    physical_lines: int
    """Number of newline characters (a final line without one is not counted)."""
    inner_newline_lines: list[int] = field(default_factory=list)
    """Physical lines (1-based) whose newline lies inside a quoted value."""
    blank_lines: list[int] = field(default_factory=list)
    """Physical lines (1-based) that are empty (DuckDB skips them)."""


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed (used for Parquet files)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_csv(path: Path, display_name: str) -> CsvScan:
    """Checksum, UTF-8 check and line bookkeeping for one CSV file.

    Raises :class:`TinyTrackerError` naming the file and line when the bytes are not UTF-8:
    a mis-encoded extract would otherwise load with replacement characters in names.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines_before = 0
    in_quote = False
    tail = b""  # the last two bytes of the previous chunk, to see blank lines across chunks
    inner: list[int] = []
    blank: list[int] = []
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's buffered bytes (< 4, no newline) plus this chunk.
                line = newlines_before + exc.object[: exc.start].count(b"\n") + 1
                raise _not_utf8(display_name, line) from exc
            edge = tail + chunk[:2]
            needs_detail = (
                in_quote
                or QUOTE in chunk
                or any(p in chunk or p in edge for p in BLANK_LINE_PATTERNS)
            )
            if needs_detail:
                in_quote = _scan_detail(chunk, tail, newlines_before, in_quote, inner, blank)
            newlines_before += chunk.count(b"\n")
            tail = (tail + chunk)[-2:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _not_utf8(display_name, newlines_before + 1) from exc
    return CsvScan(digest.hexdigest(), newlines_before, inner, blank)


def _not_utf8(display_name: str, line: int) -> TinyTrackerError:
    return TinyTrackerError(
        "file is not UTF-8 encoded (re-export the extract as UTF-8); nothing was loaded",
        file=display_name,
        line=line,
    )


def _scan_detail(chunk: bytes, tail: bytes, newlines_before: int, in_quote: bool,
                 inner: list[int], blank: list[int]) -> bool:
    """Find inner newlines and blank lines in one chunk; return the quote state at its end.

    A newline is inside a quoted value when an odd number of quote characters precede it (an
    escaped quote ``""`` adds two, so parity is enough).
    """
    data = np.frombuffer(tail + chunk, dtype=np.uint8)
    offset = len(tail)
    is_quote = (data[offset:] == QUOTE).view(np.uint8)
    parity = np.bitwise_xor.accumulate(is_quote) ^ np.uint8(in_quote)
    newline_at = np.flatnonzero(data[offset:] == NEWLINE)
    line_numbers = newlines_before + 1 + np.arange(len(newline_at))
    inside = parity[newline_at] == 1
    inner.extend(int(n) for n in line_numbers[inside])

    # A line is blank when its newline directly follows the previous newline (or "\n\r");
    # the start of the file counts as a newline.
    position = newline_at + offset
    prev1 = np.where(position >= 1, data[np.maximum(position - 1, 0)], NEWLINE)
    prev2 = np.where(position >= 2, data[np.maximum(position - 2, 0)], NEWLINE)
    is_blank = (prev1 == NEWLINE) | ((prev1 == CARRIAGE_RETURN) & (prev2 == NEWLINE))
    blank.extend(int(n) for n in line_numbers[is_blank & ~inside])
    return bool(parity[-1]) if len(parity) else in_quote


def first_inconsistent_line_ending(path: Path) -> int | None:
    """The first line whose ending differs from the header's (``\\n`` vs ``\\r\\n``).

    Only used to explain a file DuckDB's strict reader refused: it cannot read a file that mixes
    line endings or has a stray carriage return. Quoted values are not considered, so the
    answer is the likely place, not a proof. The file is memory-mapped, not read into memory.
    """
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        first = data.find(b"\n")
        if first < 0:
            return None
        if first > 0 and data[first - 1] == CARRIAGE_RETURN:
            odd = re.compile(rb"(?<!\r)\n|\r(?!\n)")  # a bare LF or a CR not before LF
        else:
            odd = re.compile(rb"\r")
        match = odd.search(data)  # type: ignore[call-overload]
        if match is None:
            return None
        return data[: match.start()].count(b"\n") + 1
