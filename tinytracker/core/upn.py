"""Unique Pupil Number (UPN) check letters, as the DfE defines them.

One pure implementation shared by the generator (to make valid UPNs), the loader (to
quarantine bad ones) and the tests, so the three can never disagree. The rule (see
``shared/spec/school-data.md``): 13 characters; position 1 is the check letter; positions
2-12 are digits; position 13 is a digit, or a letter for a *temporary* UPN. The check
letter is ``TABLE[sum(p * value(char_p) for p in 2..13) mod 23]`` where a digit is its own
value and a letter in position 13 is its index in ``TABLE``. ``TABLE`` has 23 letters (no
I, O, S); some public code uses a 21-letter table without Y and Z, which is wrong.
"""

from __future__ import annotations

import re

CHECK_TABLE = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""The 23 check letters; a letter's index is its value. I, O and S are never used."""

_SHAPE = re.compile(rf"^[{CHECK_TABLE}]\d{{11}}[\d{CHECK_TABLE}]$")


def upn_check_letter(upn: str) -> str | None:
    """The check letter that ``upn`` should start with, or None if its body is malformed.

    Only characters 2-13 are read, so this works on a full UPN or on ``"?" + body``.
    Returns None when the length is not 13, characters 2-12 are not digits, or character
    13 is neither a digit nor a letter of the table (I, O, S are never allowed).
    """
    if not isinstance(upn, str) or len(upn) != 13:
        return None
    body = upn[1:]
    if not body[:11].isascii() or not body[:11].isdigit():
        return None
    last = body[11]
    if last.isascii() and last.isdigit():
        last_value = int(last)
    elif last in CHECK_TABLE:
        last_value = CHECK_TABLE.index(last)
    else:
        return None
    total = sum(position * int(char) for position, char in enumerate(body[:11], start=2))
    total += 13 * last_value
    return CHECK_TABLE[total % 23]


def is_valid_upn(upn: str) -> bool:
    """True when ``upn`` has the UPN shape and its first character is the right check letter."""
    if not isinstance(upn, str) or not _SHAPE.match(upn):
        return False
    return upn_check_letter(upn) == upn[0]


def is_temporary_upn(upn: str) -> bool:
    """True for a temporary UPN (a letter in position 13); says nothing about validity."""
    return isinstance(upn, str) and len(upn) == 13 and upn[12] in CHECK_TABLE


def make_upn(body: str) -> str:
    """Prefix the 12-character ``body`` (positions 2-13) with its check letter.

    Raises ValueError for a body that cannot carry a valid check letter.
    """
    letter = upn_check_letter("?" + body)
    if letter is None:
        raise ValueError(f"not a UPN body: {body!r}")
    return letter + body
