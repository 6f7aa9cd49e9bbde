"""List throughput of the local emulator: 200-record pages of 36 fields over keep-alive HTTP.

Run: python benchmarks/emulator_throughput.py [--accounts 20000] [--runs 5]
     python benchmarks/emulator_throughput.py --smoke   # seconds: 500 accounts, one run of 3 pages
Prints each run, the median, and ends with one JSON line {"records_per_s": ...}.
The goal (issue 2): at least 50,000 records/s, so the emulator is never the bottleneck.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import requests

from sergas_nb.emulator import LocalZoho
from sergas_nb.emulator.state.metadata import fields_for


def one_run(session: requests.Session, url: str, fields: str, pages: int) -> tuple[int, float]:
    """Fetch ``pages`` pages (page then page_token past 2,000), parse each; (records, seconds)."""
    n, token = 0, None
    start = time.perf_counter()
    for page in range(1, pages + 1):
        params = {"fields": fields, "per_page": 200}
        if token:
            params["page_token"] = token
        elif page > 1:
            params["page"] = page
        r = session.get(url, params=params, timeout=30)
        r.raise_for_status()
        body = orjson.loads(r.content)
        n += len(body["data"])
        info = body["info"]
        if not info["more_records"]:
            break
        token = info.get("next_page_token") if page >= 10 else None
    return n, time.perf_counter() - start


@contextlib.contextmanager
def emulator(accounts: int, in_process: bool) -> Iterator[dict[str, str]]:
    """The emulator's URL and credentials. By default a separate process (the CLI), so the client's
    parsing does not share a GIL with the server; ``--in-process`` measures LocalZoho in a thread."""
    if in_process:
        with LocalZoho(accounts=accounts, seed=42) as z:
            yield {
                "pid": None,
                "url": z.url,
                "token_url": z.token_url,
                "client_id": z.client_id,
                "client_secret": z.client_secret,
                "refresh_token": z.refresh_token,
            }
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "sergas_nb.cli", "emulator", "--port", "0", "--accounts", str(accounts)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        info["pid"] = proc.pid
        yield info
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU time of the server process (Linux /proc), to see its cost apart from machine load."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--in-process", action="store_true", help="LocalZoho in a thread of this process")
    ap.add_argument("--smoke", action="store_true", help="500 accounts, one run of 3 pages: a check that it runs")
    args = ap.parse_args(argv)
    if args.smoke:
        args.accounts, args.runs, args.pages = min(args.accounts, 500), 1, 3
    t0 = time.perf_counter()
    with emulator(args.accounts, args.in_process) as z:
        print(f"seeded {args.accounts} accounts and started in {time.perf_counter() - t0:.2f} s")
        token = requests.post(
            z["token_url"],
            data={
                "grant_type": "refresh_token",
                "client_id": z["client_id"],
                "client_secret": z["client_secret"],
                "refresh_token": z["refresh_token"],
            },
            timeout=10,
        ).json()["access_token"]
        names = [f["api_name"] for f in fields_for("Accounts")]
        fields = ",".join(names)
        with requests.Session() as s:
            s.headers["Authorization"] = f"Zoho-oauthtoken {token}"
            url = z["url"] + "/crm/v8/Accounts"
            one_run(s, url, fields, 5)  # warm-up: caches, connection
            rates = []
            cpu0, total = cpu_seconds(z["pid"]), 0
            for i in range(args.runs):
                n, secs = one_run(s, url, fields, args.pages)
                total += n
                rates.append(n / secs)
                print(f"run {i + 1}: {n} records x {len(names)} fields in {secs:.3f} s = {n / secs:,.0f} records/s")
            cpu1 = cpu_seconds(z["pid"])
            if cpu0 is not None and cpu1 is not None and cpu1 > cpu0:
                print(f"server CPU: {total / (cpu1 - cpu0):,.0f} records per CPU second of the emulator process")
    median = statistics.median(rates)
    print(f"median: {median:,.0f} records/s over {args.runs} runs")
    print(
        orjson.dumps(
            {"records_per_s": round(median), "fields": len(names), "page_size": 200, "runs": args.runs}
        ).decode()
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
