"""Who acted: every audit row names the person who handled a request or changed a setting."""

from __future__ import annotations

import getpass


def operator(name: str | None = None) -> str:
    """Who handles a request (``--by``), else the OS login."""
    return (name or "").strip() or getpass.getuser()
