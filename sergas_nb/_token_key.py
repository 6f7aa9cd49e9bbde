"""Encryption at rest for stored OAuth tokens (Fernet from ``cryptography``: AES-128-CBC + HMAC).

The key comes from ``SERGAS_NB_TOKEN_KEY`` (a Fernet key: 44 url-safe base64 characters, e.g. from
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``), else
from a key file: ``SERGAS_NB_TOKEN_KEY_FILE``, default ``~/.config/sergas_nb/token.key``, created
with mode 0600 on first use. Every process that shares the token table needs the same key.

Stored values are ``fernet:<token>``; a value without the prefix is a plaintext row from before
encryption, read as is and encrypted by ``PostgresTokenStore.encrypt_plaintext_rows``. Lookups by
token value use a SHA-256 digest column, since Fernet ciphertexts differ at every encryption.
The key is registered for redaction and never appears in messages.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from sergas_nb import _secrets
from sergas_nb.errors import ZohoConfigError

ENV_KEY = "SERGAS_NB_TOKEN_KEY"
ENV_KEY_FILE = "SERGAS_NB_TOKEN_KEY_FILE"
PREFIX = "fernet:"


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sergas_nb" / "token.key"


def digest(value: str | None) -> str | None:
    """SHA-256 hex of a token, for lookups (tokens are long random strings: no salt needed)."""
    return hashlib.sha256(value.encode()).hexdigest() if value else None


class TokenCipher:
    """Encrypts and decrypts token values with one Fernet key."""

    def __init__(self, key: bytes | str, source: str) -> None:
        self.source = source  # where the key came from (an env var name or a path), never the key
        raw = key.encode() if isinstance(key, str) else key
        _secrets.register(raw.decode("ascii", "replace"))
        try:
            self._fernet = Fernet(raw)
        except (ValueError, TypeError):
            raise ZohoConfigError(
                {source: "not a valid token key (expected a Fernet key: 44 url-safe base64 characters)"}
            ) from None

    def __repr__(self) -> str:
        return f"TokenCipher(key from {self.source})"

    @classmethod
    def from_environment(cls) -> TokenCipher:
        """The key from SERGAS_NB_TOKEN_KEY, else the key file (created, mode 0600, when absent)."""
        env = os.environ.get(ENV_KEY)
        if env is not None:
            if not env.strip():
                raise ZohoConfigError({ENV_KEY: "is set but empty: give a Fernet key, or unset it to use a key file"})
            return cls(env.strip(), ENV_KEY)
        path = Path(os.environ.get(ENV_KEY_FILE) or default_key_file()).expanduser()
        return cls(_read_or_create(path), str(path))

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str | None, what: str = "token") -> str | None:
        """The plaintext; legacy plaintext rows come back unchanged."""
        if value is None or not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode()
        except InvalidToken:
            raise ZohoConfigError(
                {
                    self.source: f"this key cannot decrypt the stored {what}: the tokens were encrypted with "
                    f"another key. Use that key ({ENV_KEY} or {ENV_KEY_FILE}), or delete the stored "
                    "tokens and run the onboarding notebook again"
                }
            ) from None


def _read_or_create(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Fernet.generate_key()
        # Written whole to a private temporary file, then linked into place: a process starting at
        # the same moment sees either no file or the complete key, never half of one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-key-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key + b"\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process created it first: use theirs
                return _read_or_create(path)
        finally:
            os.unlink(tmp)
        return key
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ZohoConfigError(
            {str(path): f"the token key file is readable by others (mode {stat.S_IMODE(info.st_mode):o}): chmod 600 it"}
        )
    key = path.read_bytes().strip()
    if not key:
        raise ZohoConfigError({str(path): "the token key file is empty (a key is written on the first use only)"})
    return key
