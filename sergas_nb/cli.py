"""``sergas-nb``: the emulator, migrations, the notebooks and the demo from the command line."""

from __future__ import annotations

import argparse
import os
import sys

from sergas_nb.errors import ZohoError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sergas-nb", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    # -- mcp: the assistant server (sergas_nb/assistant)
    from sergas_nb.assistant.options import add_arguments as mcp_arguments

    mcp_arguments(sub.add_parser("mcp", help="serve the CRM to an MCP host (stdio, or --http PORT on loopback)"))

    emu = sub.add_parser("emulator", help="serve a local Zoho CRM v8 emulator on loopback")
    emu.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    emu.add_argument("--port", type=int, default=8765, help="the API host's port (default 8765)")
    emu.add_argument("--content-port", type=int, default=0, help="the file (upload) host's port (default: a free one)")
    emu.add_argument("--download-port", type=int, default=0, help="the download host's port (default: a free one)")
    emu.add_argument("--seed", type=int, default=42)
    emu.add_argument("--accounts", type=int, default=5000)
    emu.add_argument("--token-ttl", type=float, default=3600.0, help="access token lifetime in seconds")
    emu.add_argument("--auto-approve", action="store_true", help="consent page approves without a click")
    emu.add_argument(
        "--redirect-url",
        default="http://127.0.0.1:8910/callback",
        help="redirect URI registered for the emulator's OAuth client",
    )

    mig = sub.add_parser("migrate", help="apply the shipped SQL migrations to DATABASE_URL, each once")
    mig.add_argument("--database-url", default=None, help="default: DATABASE_URL from the environment or .env")

    nbs = sub.add_parser("notebooks", help="copy the notebooks into a folder, to open in JupyterLab")
    nbs.add_argument("dir", help="the working folder (created if missing)")
    nbs.add_argument("--force", action="store_true", help="overwrite notebooks you changed there")

    demo = sub.add_parser("demo", help="run every notebook against the emulator, write reports")
    demo.add_argument("--reports", default="reports", help="where the reports go (default ./reports)")
    demo.add_argument(
        "--work-dir",
        default=".sergas-nb",
        help="state kept between runs: the throwaway PostgreSQL, the onboarding .env (default ./.sergas-nb)",
    )

    # -- sync: the local mirror (sergas_nb/mirror)
    syn = sub.add_parser("sync", help="bring a local mirror (DuckDB) of the CRM up to date, incrementally")
    syn.add_argument("--path", required=True, help="the mirror's folder (created on the first sync)")
    syn.add_argument("--modules", nargs="+", default=None, help="default: every module the CRM lists")
    syn.add_argument("--full", action="store_true", help="read every module whole and reconcile ids")
    syn.add_argument("--env-file", default=".env", help="connection settings (default ./.env)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ZohoError as exc:  # a known failure: its message says what to do, no traceback
        print(f"sergas-nb {args.command}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "mcp":
        from sergas_nb.assistant.server import main as mcp_main

        return mcp_main(args)
    if args.command == "emulator":
        from sergas_nb.emulator.server import serve_forever

        return serve_forever(
            host=args.host,
            port=args.port,
            seed=args.seed,
            accounts=args.accounts,
            token_ttl=args.token_ttl,
            auto_approve=args.auto_approve,
            redirect_url=args.redirect_url,
            content_port=args.content_port,
            download_port=args.download_port,
        )
    if args.command == "migrate":
        from sergas_nb.edits.migrate import main as migrate_main

        return migrate_main(args.database_url)
    if args.command == "notebooks":
        from sergas_nb.lab.notebooks import NOTEBOOKS, copy_notebooks

        status = copy_notebooks(args.dir, force=args.force)
        for name in NOTEBOOKS:
            print(f"{status[name]:>9}  {os.path.join(args.dir, name)}")
        print(f"Open them with: jupyter lab {args.dir}")
        return 0
    if args.command == "sync":
        from sergas_nb.client import connect
        from sergas_nb.mirror import Mirror, MirrorError

        try:
            with connect(env_file=args.env_file) as crm, Mirror(crm, args.path) as m:
                report = m.sync(args.modules, full=args.full, progress=True)
        except MirrorError as exc:
            print(f"sergas-nb sync: {exc}", file=sys.stderr)
            return 1
        print(report.to_string(index=False))
        return 0
    if args.command == "demo":
        from sergas_nb.lab.demo import main as demo_main

        return demo_main(reports=args.reports, work_dir=args.work_dir)
    return 2


if __name__ == "__main__":
    sys.exit(main())
