"""Why something was done, recorded without free text: a category from a fixed list and a
short reference to the controller's own case file.

The audit trail outlives the people it records erasing, so it must not name them. Free prose
in an erasure reason or a hold reason ("family moved away from 53 Conor Gardens; UPN ...") was
stored as written, and no check can catch every rewording of an address. So a reason is one of
the categories below, and the details stay where they belong, in the controller's ticket,
which the audit row points to with ``--ticket`` (letters, digits and ``. _ / # : -``, at most
40 characters, nothing shaped like a UPN, an email address or a phone number).
"""

from __future__ import annotations

import re

from tinytracker.core.errors import RefusedError, TinyTrackerError

ERASURE_REASONS: dict[str, str] = {
    "controller_request": "the organisation (the controller) asks for the erasure",
    "subject_request": "the person, or a parent, asked the organisation, which passes it on",
    "consent_withdrawn": "consent the processing relied on was withdrawn",
    "no_longer_needed": "the data is no longer needed for the purpose it was collected for",
    "unlawful_processing": "the data should not have been processed",
    "legal_obligation": "a legal obligation requires the erasure",
    "entered_in_error": "the person's data was entered by mistake",
}
HOLD_REASONS: dict[str, str] = {
    "litigation": "a claim or court case, actual or expected",
    "complaint": "a complaint being handled (the policy keeps data for complaints)",
    "regulator_inquiry": "an inquiry by the ICO, Ofsted or another regulator",
    "safeguarding": "a safeguarding or child protection review",
    "insurance_claim": "an insurance claim",
    "other_legal_basis": "another legal reason to keep the data; say which in the ticket",
}

TICKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#:-]{0,39}")
UPN_SHAPE = re.compile(r"[A-Za-z]\d{11}[0-9A-Za-z]")


def category(value: str, allowed: dict[str, str], option: str = "--reason") -> str:
    """``value`` if it is one of ``allowed``; otherwise an error listing them."""
    cleaned = (value or "").strip().lower()
    if cleaned in allowed:
        return cleaned
    choices = "; ".join(f"{name} ({meaning})" for name, meaning in allowed.items())
    raise TinyTrackerError(
        f"{option} takes one of: {choices}. Free text is refused: it can carry a person's name or "
        "address into the audit trail. Put the reference of your own case file in --ticket."
    )


def ticket(value: str | None) -> str | None:
    """A case reference safe to keep in the audit trail, or an error saying why not."""
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if not TICKET.fullmatch(cleaned):
        raise TinyTrackerError(
            "--ticket is a short reference to your own case file: letters, digits and "
            ". _ / # : - only, at most 40 characters, no spaces (e.g. 4411 or CASE-2025/117)"
        )
    squeezed = re.sub(r"[^0-9A-Za-z]", "", cleaned)
    if UPN_SHAPE.search(squeezed) or "@" in cleaned or len(re.sub(r"\D", "", cleaned)) >= 9:
        raise RefusedError(
            "--ticket looks like a UPN, an email address or a phone number: the audit trail "
            "must not identify anyone. Use the reference of your case file instead."
        )
    return cleaned
