"""Which identifiers name a person, written the same way for a stored person and a payload.

A setup-import payload is one row of a file a school sent before its MIS was connected: JSON
with the school's own column names. A real MIS export writes them every way (``UPN``,
``Surname``, ``Legal Forename``, ``DOB`` as ``01/05/2015``), so a payload's keys are compared
case-insensitively with spaces and punctuation removed against the variants below, and its
values are normalised (UPNs upper-case without spaces, names lower-case with single spaces,
dates from ``YYYY-MM-DD``, ``DD/MM/YYYY`` and a few other UK forms to ``YYYY-MM-DD``).

Both sides become lists of identifier strings (``upn=B801200005001``,
``name_dob=ada|lovelace|2015-05-01``, ``id=E00002``, ...): a payload names a person when the two
lists share one. The erasure suppression list keeps keyed tokens of the same strings, so the
loader recognises a later payload naming an erased person with exactly the rule that an access
or erasure request used while the person was still held (one rule, three users).

What names whom:

- a pupil: a UPN (under a UPN key, or as the whole value of a member under any other key: a
  UPN is a national identifier unique to one pupil; a UPN inside free text, such as a note
  naming a sibling, does not count), a pupil MIS id (``PupilId``), or forename, surname and
  date of birth together (a name alone never matches: two pupils may share one);
- an employee: an employee MIS id, a teacher reference number, an email address, or forename
  and surname together, the name only in a payload with no UPN and no date of birth (a staff
  list: a pupil row naming a pupil who shares a teacher's name is not about the teacher);
- a contact: a contact MIS id (setup files are pupil and staff lists; contacts are never
  matched by name in a payload).

The same identifiers recognise an erased person whom a later extract sends again under a new
MIS id (a school changing MIS keeps the UPN, the names and dates, not the ids):
:func:`row_identifiers` reads them from the incoming row. A pupil row with a UPN is the erased
pupil when the UPN matches; its name and date of birth count only against a pupil erased
without a UPN (a nursery child who has one now). A row without a UPN matches by name and date
of birth. What this cannot catch: a pupil
whose UPN, name and date of birth all changed; an employee re-sent without teacher number and
with a new email; a contact with a new name or with neither the same email nor the same phone.

Everything is SQL expressions (DuckDB list lambdas), evaluated set-based by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

KEY_VARIANTS: dict[str, tuple[str, ...]] = {
    "upn": ("upn", "uniquepupilnumber", "pupilupn"),
    "forename": (
        "forename",
        "forenames",
        "firstname",
        "legalforename",
        "givenname",
        "preferredforename",
    ),
    "surname": ("surname", "lastname", "familyname", "legalsurname", "preferredsurname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "pupil_id": ("pupilid", "studentid"),
    "employee_id": ("employeeid", "staffid"),
    "contact_id": ("contactid",),
    "teacher_number": ("teachernumber", "trn", "teacherreferencenumber"),
    "email": ("email", "emailaddress", "workemail"),
}
"""Payload keys (lower-case, letters and digits only) that carry each identifier."""

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
)
UPN = "(?i)[a-z][0-9]{11}[0-9a-z]"
"""A UPN: a check letter, 11 digits and a digit or letter (temporary UPNs end in a letter)."""

KINDS = ("pupil", "employee", "pupil_contact")
NO_UPN_NAME_DOB = "name_dob_noupn"
"""Name and date of birth of a pupil erased without a UPN: the one case where a row that does
carry a UPN is recognised by name and date of birth."""


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def normalise(field: str, value: str) -> str:
    """SQL: ``value`` (text) in the form identifiers are compared in; null when empty."""
    if field == "upn":
        expr = f"upper(regexp_replace({value}, '\\s', '', 'g'))"
    elif field in ("forename", "surname"):
        expr = f"lower(trim(regexp_replace({value}, '\\s+', ' ', 'g')))"
    elif field == "date_of_birth":
        formats = ", ".join(f"'{f}'" for f in DATE_FORMATS)
        expr = f"strftime(try_strptime(trim({value}), [{formats}]), '%Y-%m-%d')"
    elif field == "teacher_number":
        expr = f"regexp_replace(upper({value}), '[^0-9A-Z]', '', 'g')"
    elif field == "email":
        expr = f"lower(trim({value}))"
    elif field == "phone":
        # digits only, a leading +44 read as the trunk 0: the same number written any way
        digits = f"regexp_replace({value}, '[^0-9]', '', 'g')"
        expr = f"regexp_replace({digits}, '^44', '0')"
    else:
        expr = f"trim({value})"
    return f"nullif({expr}, '')"


def _entries(payload: str) -> str:
    """SQL: the payload's members as a list of {key, value} (empty for anything not an object)."""
    return (
        f"coalesce(map_entries(case when json_valid({payload}) then "
        f"try_cast(cast({payload} as json) as map(varchar, varchar)) end), [])"
    )


def payload_values(payload: str, field: str) -> str:
    """SQL list: the normalised values of every member of ``payload`` that carries ``field``."""
    keys = _sql_list(KEY_VARIANTS[field])
    picked = (
        f"list_filter({_entries(payload)}, lambda e: "
        f"regexp_replace(lower(e.key), '[^a-z0-9]', '', 'g') in {keys})"
    )
    values = f"list_transform({picked}, lambda e: {normalise(field, 'e.value')})"
    return f"list_filter({values}, lambda v: v is not null)"


def _payload_upns(payload: str) -> str:
    """UPNs under a UPN key, and any member whose whole value is a UPN (a column the school
    named its own way); a UPN inside free text (a note naming a sibling) does not count."""
    shaped = (
        f"list_filter({_entries(payload)}, lambda e: regexp_full_match(trim(e.value), '{UPN}'))"
    )
    return (
        f"list_concat({payload_values(payload, 'upn')}, "
        f"list_transform({shaped}, lambda e: {normalise('upn', 'e.value')}))"
    )


def _prefixed(prefix: str, values: str) -> str:
    return f"list_transform({values}, lambda v: '{prefix}=' || v)"


def payload_identifiers(kind: str, payload: str) -> str:
    """SQL list of the identifier strings of ``kind`` that the JSON text ``payload`` carries."""
    if kind == "pupil":
        forenames = payload_values(payload, "forename")
        surnames = payload_values(payload, "surname")
        births = payload_values(payload, "date_of_birth")
        name_dob = (
            f"flatten(list_transform({forenames}, lambda f: flatten(list_transform({surnames}, "
            f"lambda s: list_transform({births}, "
            "lambda d: 'name_dob=' || f || '|' || s || '|' || d)))))"
        )
        parts = [
            _prefixed("upn", _payload_upns(payload)),
            _prefixed("id", payload_values(payload, "pupil_id")),
            name_dob,
        ]
    elif kind == "employee":
        forenames = payload_values(payload, "forename")
        surnames = payload_values(payload, "surname")
        pupil_row = (
            f"(len({_payload_upns(payload)}) > 0 "
            f"or len({payload_values(payload, 'date_of_birth')}) > 0)"
        )
        names = (
            f"case when {pupil_row} then [] else flatten(list_transform({forenames}, "
            f"lambda f: list_transform({surnames}, lambda s: 'name=' || f || '|' || s))) "
            "end"
        )
        parts = [
            _prefixed("id", payload_values(payload, "employee_id")),
            _prefixed("trn", payload_values(payload, "teacher_number")),
            _prefixed("email", payload_values(payload, "email")),
            names,
        ]
    elif kind == "pupil_contact":
        parts = [_prefixed("id", payload_values(payload, "contact_id"))]
    else:
        raise ValueError(f"no payload identifiers for subject kind {kind!r}")
    return f"list_distinct(flatten([{', '.join(parts)}]))"


def person_identifiers(kind: str, person: str) -> str:
    """SQL list of the identifier strings of the stored person row aliased ``person``."""
    if kind == "pupil":
        name_dob = (
            f"{normalise('forename', f'{person}.forename')} || '|' || "
            f"{normalise('surname', f'{person}.surname')} || '|' || "
            f"strftime({person}.date_of_birth, '%Y-%m-%d')"
        )
        parts = [
            f"'upn=' || {normalise('upn', f'{person}.upn')}",
            f"'id=' || {normalise('pupil_id', f'{person}.pupil_id')}",
            f"'name_dob=' || {name_dob}",
            # a pupil without a UPN (a nursery child) may come back with one
            f"case when {normalise('upn', f'{person}.upn')} is null "
            f"then '{NO_UPN_NAME_DOB}=' || {name_dob} end",
        ]
    elif kind == "employee":
        parts = [
            f"'id=' || {normalise('employee_id', f'{person}.employee_id')}",
            f"'trn=' || {normalise('teacher_number', f'{person}.teacher_number')}",
            f"'email=' || {normalise('email', f'{person}.email')}",
            f"'name=' || {normalise('forename', f'{person}.forename')} || '|' || "
            f"{normalise('surname', f'{person}.surname')}",
        ]
    elif kind == "pupil_contact":
        parts = [
            f"'id=' || {normalise('contact_id', f'{person}.contact_id')}",
            *_contact_name_links(
                lambda column: normalise(
                    "phone" if column == "phone" else column, f"{person}.{column}"
                )
            ),
        ]
    else:
        raise ValueError(f"no identifiers for subject kind {kind!r}")
    return f"list_filter([{', '.join(parts)}], lambda v: v is not null)"


def _contact_name_links(value_of: Callable[[str], str]) -> list[str]:
    """A contact's name together with their email or their phone: how a contact is known when
    a new MIS gives them a new id (a name alone is shared; so is a household's phone, but not
    by two people of the same name)."""
    name = f"{value_of('forename')} || '|' || {value_of('surname')}"
    return [
        f"'name_email=' || {name} || '|' || {value_of('email')}",
        f"'name_phone=' || {name} || '|' || {value_of('phone')}",
    ]


RETURNING_PERSON_FILES = {
    "pupils": "pupil",
    "employees": "employee",
    "pupil_contacts": "pupil_contact",
}
"""Landing files whose rows are people, by suppression kind: a row there is recognised as an
erased person by the identifiers below even under a new MIS id."""


def row_identifiers(kind: str, value_of: Callable[[str], str]) -> str:
    """SQL list of the identifier strings an incoming landing row of ``kind`` carries, beyond
    its MIS id: what recognises an erased person re-sent under a new id (an MIS migration).

    ``value_of(column)`` is the SQL of a column's text as given. A pupil: UPN (any case and
    spacing), or forename, surname and date of birth together (nursery children have no UPN).
    An employee: teacher reference number or email (a name alone is shared). A contact: name
    with email or with phone.
    """

    def norm(field: str, column: str | None = None) -> str:
        return normalise(field, value_of(column or field))

    if kind == "pupil":
        name_dob = (
            f"{norm('forename')} || '|' || {norm('surname')} || '|' || {norm('date_of_birth')}"
        )
        # with a UPN, the UPN decides: name and date of birth match only a pupil erased without
        # one (twins are told apart by forename; two children sharing all three are not)
        parts = [
            f"'upn=' || {norm('upn')}",
            f"case when {norm('upn')} is null then 'name_dob=' || {name_dob} "
            f"else '{NO_UPN_NAME_DOB}=' || {name_dob} end",
        ]
    elif kind == "employee":
        parts = [f"'trn=' || {norm('teacher_number')}", f"'email=' || {norm('email')}"]
    elif kind == "pupil_contact":
        parts = _contact_name_links(lambda column: norm(column))
    else:
        raise ValueError(f"no row identifiers for subject kind {kind!r}")
    return f"list_filter([{', '.join(parts)}], lambda v: v is not null)"


def payload_names(kind: str, payload: str, person: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the ``kind`` row aliased ``person``."""
    return (
        f"coalesce(list_has_any({payload_identifiers(kind, payload)}, "
        f"{person_identifiers(kind, person)}), false)"
    )


def identifier_name(identifier: str) -> str:
    """SQL: which identifier an identifier string is (``upn``, ``name_dob``, ``id``, ...)."""
    return f"split_part({identifier}, '=', 1)"
