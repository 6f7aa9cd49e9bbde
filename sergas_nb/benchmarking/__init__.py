"""Benchmarks: the same Zoho CRM work done three ways, timed the same way.

The three *paths* answer one question each:

- ``seed_sdk``: the seed guide's serial SDK code (``RecordOperations.get_records`` page by page,
  ``search_records``, COQL through the SDK, ``update_record`` one record per call,
  ``update_records``), kept faithful with only its known errors fixed so it can run at all
  (ids set, batches of 100, search through ``search_records``, a token store that exists).
- ``toolkit``: this project's client (``sergas_nb.client``), what an analyst actually calls.
- ``rest``: plain REST with one ``requests.Session``: the baseline of the seed's claim that
  "the SDK is 30-40% faster than REST".

Every path implements the same five operations (:data:`OPS`) and returns how many records it
handled, so a rate is never computed from work that silently did not happen. :func:`run` times
them over sizes and repeats; the statistics helpers turn samples into medians, p95s and
records per second.

Modules: ``operations`` (the five operations, limits, workload, path protocol), ``stats``,
``seed_claims`` (the seed guide's figures and its SDK-vs-REST claim), ``rest_path``,
``seed_sdk_path``, ``toolkit_path`` and ``runner``.
"""

from __future__ import annotations

from sergas_nb.benchmarking.operations import (
    COQL_PAGE,
    DISCRETE_PAGES_LIMIT,
    OPS,
    PAGE,
    WRITE_BATCH,
    WRITE_OPS,
    BenchmarkError,
    BenchPath,
    Workload,
    allowed_ops,
)
from sergas_nb.benchmarking.rest_path import RestPath, fetch_access_token
from sergas_nb.benchmarking.runner import Plan, run, warm_up
from sergas_nb.benchmarking.scale import run_scale
from sergas_nb.benchmarking.seed_claims import SEED_FIGURES, SeedFigure, sdk_claim_verdict, seed_comparison
from sergas_nb.benchmarking.seed_sdk_path import SeedSDKPath
from sergas_nb.benchmarking.stats import (
    Summary,
    key_figures,
    percentile,
    ratio_table,
    records_per_second,
    summarize,
    summary_table,
)
from sergas_nb.benchmarking.toolkit_path import ToolkitPath

__all__ = [
    "BenchPath",
    "BenchmarkError",
    "COQL_PAGE",
    "DISCRETE_PAGES_LIMIT",
    "OPS",
    "PAGE",
    "Plan",
    "RestPath",
    "SEED_FIGURES",
    "SeedFigure",
    "SeedSDKPath",
    "Summary",
    "ToolkitPath",
    "WRITE_BATCH",
    "WRITE_OPS",
    "Workload",
    "allowed_ops",
    "fetch_access_token",
    "run_scale",
    "key_figures",
    "percentile",
    "ratio_table",
    "records_per_second",
    "run",
    "sdk_claim_verdict",
    "seed_comparison",
    "summarize",
    "summary_table",
    "warm_up",
]
