"""One streaming pass over a CSV file's bytes, before DuckDB reads it.

The pass is needed anyway for the load log's SHA-256 checksum, and it is cheap to learn three
more things on the way, at C speed (``bytes.count`` and numpy; no Python loop over rows):

* whether the file is UTF-8, and if not on which line it breaks (the whole load fails);
* the physical lines that end inside a quoted field (a value spanning lines), because DuckDB
  numbers *records* while people open the file at *lines*;
* the blank lines, which DuckDB's reader skips without a trace, so that the loader can give
  every row the line it really has in the file.

A gzip-compressed CSV (``.csv.gz``) is scanned as its decompressed text (lines are lines of
the CSV), while its checksum is of the file as it arrived (the compressed bytes).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tinytracker.core.errors import TinyTrackerError

CHUNK_BYTES = 8 * 1024 * 1024
QUOTE = ord('"')
NEWLINE = ord("\n")
CARRIAGE_RETURN = ord("\r")
COMMA = ord(",")
BLANK_LINE_PATTERNS = (b"\n\n", b"\n\r\n")


@dataclass(frozen=True)
class CsvScan:
    """What the byte pass learnt about one CSV file."""

    checksum: str
    """SHA-256 of the file bytes (hex), as the file arrived (compressed for ``.csv.gz``)."""
    size: int
    """Bytes of CSV text (after decompression)."""
    physical_lines: int
    """Number of newline characters (a final line without one is not counted)."""
    inner_newline_lines: list[int] = field(default_factory=list)
    """Physical lines (1-based) whose newline lies inside a quoted value."""
    blank_lines: list[int] = field(default_factory=list)
    """Physical lines (1-based) that are empty (DuckDB skips them)."""
    surplus_lines: list[int] = field(default_factory=list)
    """First physical lines (1-based) of records with more fields than the header, even
    empty ones (DuckDB's reader ignores trailing empty fields; the contract does not)."""


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed (used for Parquet files)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_gzip(path: Path) -> bool:
    """A gzip-compressed CSV (``<name>.csv.gz``), read as its decompressed text."""
    return path.name.lower().endswith(".gz")


class _HashingReader:
    """A read-only file wrapper that feeds every byte read into a digest.

    ``gzip`` reads the compressed file through it, so one pass gives both the checksum of the
    file as it arrived and its decompressed text.
    """

    def __init__(self, handle: IO[bytes], digest: Any) -> None:
        self.handle = handle
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _not_gzip(display_name: str, exc: Exception) -> TinyTrackerError:
    return TinyTrackerError(
        f"not a readable gzip file ({exc}); compress it with gzip or send the plain .csv; "
        "nothing was loaded",
        file=display_name,
    )


@contextmanager
def open_csv_bytes(path: Path) -> Iterator[io.BufferedIOBase]:
    """The CSV text of a landing file as bytes: decompressed for ``.csv.gz``."""
    if is_gzip(path):
        with gzip.open(path, "rb") as handle:
            yield handle
    else:
        with path.open("rb") as handle:
            yield handle


def _csv_chunks(path: Path, digest: Any, display_name: str) -> Iterator[bytes]:
    """The CSV text in chunks, feeding the file's own bytes into ``digest`` on the way."""
    with path.open("rb") as raw:
        if not is_gzip(path):
            for chunk in iter(lambda: raw.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                yield chunk
            return
        reader = _HashingReader(raw, digest)
        try:
            # the reader has no seek(): gzip needs one only to rewind, and reads forward here
            with gzip.GzipFile(fileobj=reader, mode="rb") as text:  # type: ignore[call-overload]
                yield from iter(lambda: text.read(CHUNK_BYTES), b"")
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise _not_gzip(display_name, exc) from exc
        while reader.read(CHUNK_BYTES):  # anything after the gzip data is in the checksum too
            pass


def scan_csv(path: Path, display_name: str) -> CsvScan:
    """Checksum, UTF-8 check and line bookkeeping for one CSV file (plain or ``.csv.gz``).

    Raises :class:`TinyTrackerError` naming the file and line when the bytes are not UTF-8:
    a mis-encoded extract would otherwise load with replacement characters in names.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines_before = 0
    size = 0
    in_quote = False
    tail = b""  # the last two bytes of the previous chunk, to see blank lines across chunks
    inner: list[int] = []
    blank: list[int] = []
    fields = _FieldCounter()
    for chunk in _csv_chunks(path, digest, display_name):
        size += len(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the decoder's buffered bytes (< 4, no newline) plus this chunk.
            line = newlines_before + exc.object[: exc.start].count(b"\n") + 1
            raise _not_utf8(display_name, line) from exc
        edge = tail + chunk[:2]
        needs_detail = (
            in_quote or QUOTE in chunk or any(p in chunk or p in edge for p in BLANK_LINE_PATTERNS)
        )
        quoted = in_quote
        if needs_detail:
            in_quote = _scan_detail(chunk, tail, newlines_before, in_quote, inner, blank)
        fields.count(chunk, newlines_before, quoted if needs_detail else None)
        newlines_before += chunk.count(b"\n")
        tail = (tail + chunk)[-2:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _not_utf8(display_name, newlines_before + 1) from exc
    fields.finish()
    return CsvScan(digest.hexdigest(), size, newlines_before, inner, blank, fields.surplus)


def _not_utf8(display_name: str, line: int) -> TinyTrackerError:
    return TinyTrackerError(
        "file is not UTF-8 encoded (re-export the extract as UTF-8); nothing was loaded",
        file=display_name,
        line=line,
    )


def _scan_detail(
    chunk: bytes,
    tail: bytes,
    newlines_before: int,
    in_quote: bool,
    inner: list[int],
    blank: list[int],
) -> bool:
    """Find inner newlines and blank lines in one chunk; return the quote state at its end.

    A newline is inside a quoted value when an odd number of quote characters precede it (an
    escaped quote ``""`` adds two, so parity is enough).
    """
    import numpy as np  # here, not at the top: every command imports this module, few scan

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
    answer is the likely place, not a proof. The text is streamed in chunks (decompressed for
    ``.csv.gz``), never read into memory whole.
    """
    odd: re.Pattern[bytes] | None = None
    carry = b""  # the previous chunk's last byte: a lookbehind, or a CR whose next byte decides
    searched_carry = False  # whether the carried byte was already searched
    newlines = 0  # newlines before ``carry``
    with open_csv_bytes(path) as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            final = not chunk
            buffer = carry + chunk
            if odd is None:
                first = buffer.find(b"\n")
                if first < 0:
                    if final:
                        return None
                    carry = buffer  # a header longer than a chunk: keep reading
                    continue
                crlf = first > 0 and buffer[first - 1] == CARRIAGE_RETURN
                # in a CRLF file: a bare LF or a CR not before LF; in an LF file: any CR
                odd = re.compile(rb"(?<!\r)\n|\r(?!\n)" if crlf else rb"\r")
            # A CR at the very end may be the first half of a CRLF split over two chunks.
            hold = not final and buffer.endswith(b"\r")
            end = len(buffer) - 1 if hold else len(buffer)
            match = odd.search(buffer, 1 if searched_carry else 0, end)
            if match is not None:
                return newlines + buffer[: match.start()].count(b"\n") + 1
            if final:
                return None
            newlines += buffer[:-1].count(b"\n")
            carry, searched_carry = buffer[-1:], not hold


class _FieldCounter:
    """Counts the fields of every record (commas outside quotes), chunk by chunk, and keeps
    the first lines of records with more fields than the header (record 1)."""

    def __init__(self) -> None:
        self.header_commas: int | None = None
        self.open_commas = 0  # commas so far in the record the previous chunk left open
        self.open_line = 1  # first physical line of that record
        self.surplus: list[int] = []

    def count(self, chunk: bytes, newlines_before: int, in_quote: bool | None) -> None:
        """``in_quote``: the quote state at the chunk's start, or None when the chunk has no
        quote character and starts outside quotes (the common fast case)."""
        import numpy as np  # see _scan_detail

        data = np.frombuffer(chunk, dtype=np.uint8)
        if in_quote is None:
            outside = np.ones(len(data), dtype=bool)
        else:
            parity = np.bitwise_xor.accumulate((data == QUOTE).view(np.uint8)) ^ np.uint8(in_quote)
            outside = parity == 0
        commas = np.flatnonzero((data == COMMA) & outside)
        newlines = np.flatnonzero(data == NEWLINE)
        ends = np.flatnonzero((data == NEWLINE) & outside)
        if not len(ends):
            self.open_commas += len(commas)
            return
        per_record = np.diff(np.searchsorted(commas, ends), prepend=0)
        per_record[0] += self.open_commas
        end_lines = newlines_before + 1 + np.searchsorted(newlines, ends)
        start_lines = np.concatenate(([self.open_line], end_lines[:-1] + 1))
        blank = (per_record == 0) & (start_lines == end_lines)
        if self.header_commas is None:
            self.header_commas = int(per_record[0])
        over = (per_record > self.header_commas) & ~blank
        self.surplus.extend(int(line) for line in start_lines[over])
        self.open_commas = len(commas) - int(np.searchsorted(commas, ends[-1]))
        self.open_line = int(end_lines[-1]) + 1

    def finish(self) -> None:
        """A last record without a final newline."""
        if self.header_commas is not None and self.open_commas > self.header_commas:
            self.surplus.append(self.open_line)
