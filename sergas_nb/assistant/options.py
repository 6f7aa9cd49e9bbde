"""The ``sergas-nb mcp`` options (kept apart from server.py: building the CLI parser stays cheap)."""

from __future__ import annotations

import argparse

DEFAULT_CAP = 1000  # approval.DEFAULT_CAP (not imported: that module loads the MCP SDK)
DEFAULT_TIMEOUT = 300.0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds (got {text})")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT/mcp, behind a bearer token (default: stdio)",
    )
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help="with --http: the bearer token's file (0600), reused when it exists, else made there; default:"
        " a new token each start, in a private temporary file whose path is printed",
    )
    p.add_argument("--emulator", action="store_true", help="start a local emulator in this process and use it")
    p.add_argument("--accounts", type=int, default=2500, help="accounts seeded into --emulator (default 2500)")
    p.add_argument("--seed", type=int, default=42, help="random seed of --emulator's data")
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="add plan_edit, apply_plan, undo_plan, list_plans (journalled in DATABASE_URL); every apply and"
        " undo asks the user to approve it through the host (MCP elicitation)",
    )
    p.add_argument(
        "--max-records-per-session",
        type=_positive,
        default=DEFAULT_CAP,
        metavar="N",
        help=f"records one MCP session may write, applies and undos together (default {DEFAULT_CAP})",
    )
    p.add_argument(
        "--allow-undo-any",
        action="store_true",
        help="undo_plan may undo any journalled plan, also those made from a notebook (default: only plans"
        " this server's plan_edit made)",
    )
    p.add_argument(
        "--host-approves-tool-calls",
        action="store_true",
        help="for a host without MCP elicitation that shows every tool call to the user for approval before"
        " it runs: writes go ahead unasked by the server (without this flag, such a host's writes are refused)",
    )
    p.add_argument(
        "--approval-timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long an approval question waits for the user; no answer sends nothing (default {DEFAULT_TIMEOUT:g})",
    )
