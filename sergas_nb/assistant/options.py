"""The ``sergas-nb mcp`` options (kept apart from server.py: building the CLI parser stays cheap)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp (default: stdio)"
    )
    p.add_argument("--emulator", action="store_true", help="start a local emulator in this process and use it")
    p.add_argument("--accounts", type=int, default=2500, help="accounts seeded into --emulator (default 2500)")
    p.add_argument("--seed", type=int, default=42, help="random seed of --emulator's data")
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="add plan_edit, apply_plan, undo_plan, list_plans (journalled in DATABASE_URL)",
    )
