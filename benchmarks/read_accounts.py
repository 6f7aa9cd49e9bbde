"""Read 5,000 accounts x every field: the toolkit's typed DataFrame vs the seed guide's raw SDK path.

    python benchmarks/read_accounts.py [--accounts 5000] [--runs 5]
    python benchmarks/read_accounts.py --smoke   # seconds: 300 accounts, one run

- toolkit: ``connect(emulator=...).records("Accounts")`` (keep-alive Session, JSON → typed frame).
- seed:    ``RecordOperations("Accounts").get_records`` page by page (200 a page; ``page_token`` past
           2,000, which the seed itself never reaches), ``record.get_key_values()`` → dicts →
           ``pd.DataFrame``, with the seed's SDKConfig (auto_refresh_fields, picklist validation,
           timeouts 30/60) and the SDK's own transport (its module-level ``requests``).
Both against one LocalZoho on 127.0.0.1. Prints wall time and CPU (process_time) per 1,000 records,
medians of ``--runs`` runs after one warm-up, the ratio, and one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from sergas_nb._sdk import sdk_own_transport


def _timed(fn: Callable[[], pd.DataFrame], runs: int) -> tuple[list[float], list[float], pd.DataFrame]:
    fn()  # warm-up: metadata downloads, connection set-up
    walls, cpus, df = [], [], None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        df = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    assert df is not None
    return walls, cpus, df


def seed_path(z: Any, resource_dir: str) -> Callable[[], pd.DataFrame]:
    """The seed guide's get_accounts loop, run to the end of the module."""
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
    from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

    env = DataCenter.Environment(z.url, z.token_url, z.url)
    token = OAuthToken(
        client_id=z.client_id, client_secret=z.client_secret, refresh_token=z.refresh_token, redirect_url=z.redirect_url
    )
    config = SDKConfig(
        auto_refresh_fields=True,
        pick_list_validation=True,
        connect_timeout=30.0,
        read_timeout=60.0,
        update_api_domain=False,
    )
    with sdk_own_transport():  # the seed's SDK as shipped: a connection per call
        Initializer.initialize(
            environment=env,
            token=token,
            store=FileStore(f"{resource_dir}/tokens.csv"),
            sdk_config=config,
            resource_path=resource_dir,
        )
    from sergas_nb.emulator.state.metadata import fields_for

    fields = ",".join(f["api_name"] for f in fields_for("Accounts"))

    def run() -> pd.DataFrame:
        with sdk_own_transport():
            return _walk()

    def _walk() -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        page, page_token = 1, None
        while True:
            params = ParameterMap()
            params.add(GetRecordsParam.fields, fields)
            params.add(GetRecordsParam.per_page, 200)
            if page_token:
                params.add(GetRecordsParam.page_token, page_token)
            else:
                params.add(GetRecordsParam.page, page)
            response = RecordOperations("Accounts").get_records(params)
            if response is None or response.get_status_code() in (204, 304):
                break
            wrapper = response.get_object()
            rows.extend(dict(r.get_key_values()) for r in wrapper.get_data())
            info = wrapper.get_info()
            if not info.get_more_records():
                break
            if page * 200 >= 2000 or page_token:
                page_token = info.get_next_page_token()
            else:
                page += 1
        return pd.DataFrame(rows)

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="300 accounts, one run: a check that it runs")
    args = ap.parse_args(argv)
    if args.smoke:
        args.accounts, args.runs = min(args.accounts, 300), 1

    from sergas_nb.client import connect
    from sergas_nb.emulator import LocalZoho

    with LocalZoho(accounts=args.accounts, seed=42) as z, tempfile.TemporaryDirectory() as tmp:
        seed_walls, seed_cpus, seed_df = _timed(seed_path(z, tmp), args.runs)
        with connect(emulator=z, env_file=None) as crm:
            tk_walls, tk_cpus, tk_df = _timed(lambda: crm.records("Accounts"), args.runs)
            n_fields = len(crm.fields("Accounts"))

    assert len(tk_df) == len(seed_df) == args.accounts, (len(tk_df), len(seed_df))
    per_k = 1000 / args.accounts
    figures = {
        "records": args.accounts,
        "fields": n_fields,
        "runs": args.runs,
        "toolkit_wall_ms_per_1k": round(statistics.median(tk_walls) * per_k * 1000, 2),
        "toolkit_cpu_ms_per_1k": round(statistics.median(tk_cpus) * per_k * 1000, 2),
        "seed_sdk_wall_ms_per_1k": round(statistics.median(seed_walls) * per_k * 1000, 2),
        "seed_sdk_cpu_ms_per_1k": round(statistics.median(seed_cpus) * per_k * 1000, 2),
        "toolkit_columns": tk_df.shape[1],
        "toolkit_dtypes": sorted({str(t) for t in tk_df.dtypes}),
    }
    figures["wall_speedup"] = round(figures["seed_sdk_wall_ms_per_1k"] / figures["toolkit_wall_ms_per_1k"], 1)
    figures["cpu_speedup"] = round(figures["seed_sdk_cpu_ms_per_1k"] / figures["toolkit_cpu_ms_per_1k"], 1)
    print(f"read {args.accounts} accounts x {n_fields} fields, median of {args.runs} runs, per 1,000 records:")
    print(
        f"  toolkit (typed DataFrame): {figures['toolkit_wall_ms_per_1k']:8.1f} ms wall "
        f"{figures['toolkit_cpu_ms_per_1k']:8.1f} ms CPU"
    )
    print(
        f"  seed raw SDK path:         {figures['seed_sdk_wall_ms_per_1k']:8.1f} ms wall "
        f"{figures['seed_sdk_cpu_ms_per_1k']:8.1f} ms CPU"
    )
    print(f"  toolkit is {figures['wall_speedup']}x faster (wall), {figures['cpu_speedup']}x (CPU)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
