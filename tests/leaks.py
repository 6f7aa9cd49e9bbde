"""Find secrets where they must not be: notebooks, reports, logs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sergas_nb import _secrets

# Zoho (and the emulator) tokens: 1000.<32 hex>.<32 hex>.
TOKEN_RE = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")


def find_leaks(text: str, known: Iterable[str] = ()) -> list[str]:
    """Token-shaped strings, and any of ``known`` or of the secrets registered in this process."""
    found = [f"token-shaped value at offset {m.start()}" for m in TOKEN_RE.finditer(text)]
    for secret in {*known, *_secrets._known}:
        # A real secret is random; a value of a few repeated characters (a deliberately bad key
        # some test registered, "AAAA...") would match inside any base64 image.
        if secret and len(secret) >= 8 and len(set(secret)) >= 8 and secret in text:
            found.append(f"a known secret ({len(secret)} characters) at offset {text.index(secret)}")
    return found


def scan_files(paths: Iterable[Path], known: Iterable[str] = ()) -> dict[str, list[str]]:
    known = list(known)
    out = {}
    for p in paths:
        leaks = find_leaks(p.read_text(errors="replace"), known)
        if leaks:
            out[str(p)] = leaks
    return out
