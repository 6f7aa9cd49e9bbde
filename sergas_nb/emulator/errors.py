"""Zoho's error envelope, raised anywhere in the emulator and rendered by the app."""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """An error answer: ``{"status": "error", "code", "message", "details"}`` with an HTTP status."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"status": "error", "code": self.code, "message": self.message, "details": self.details}


def internal_error() -> EmulatorError:
    """Zoho's 500 envelope, shared by the app's catch-all, the routes and injected faults."""
    return EmulatorError("INTERNAL_ERROR", "Internal server error occurred.", status=500)
