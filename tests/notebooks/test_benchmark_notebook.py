"""The performance notebook and the statistics behind it.

The notebook runs under papermill against the session emulator with tiny sizes; the assertions
are on the numbers it printed, and only on relations robust on a noisy machine (positive rates,
every operation present, ratios with wide margins).
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest
import requests

from sergas_nb import benchmarking as bm
from sergas_nb.lab.notebooks import NOTEBOOKS_DIR, kernel_env, run_notebook

# --- statistics helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize("values", [[1.0], [3.0, 1.0], [5, 1, 4, 2, 3], [0.1, 0.5, 0.2, 9.0, 0.3, 0.3, 0.4]])
@pytest.mark.parametrize("q", [0, 50, 95, 100])
def test_percentile_matches_numpy_linear(values, q):
    assert bm.percentile(values, q) == pytest.approx(float(np.percentile(values, q, method="linear")))


def test_percentile_rejects_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        bm.percentile([], 50)
    with pytest.raises(ValueError):
        bm.percentile([1.0], 101)


def test_summary_of_samples_orders_median_below_p95_and_keeps_the_extremes():
    s = bm.summarize([0.2, 0.1, 0.4, 0.3, 5.0])
    assert s.n == 5 and s.median == pytest.approx(0.3)
    assert s.minimum == 0.1 and s.maximum == 5.0
    assert s.median <= s.p95 <= s.maximum
    assert s.p95 == pytest.approx(0.4 + 0.8 * (5.0 - 0.4))  # between the two slowest samples


def test_records_per_second_refuses_unmeasurable_durations():
    assert bm.records_per_second(200, 0.5) == 400
    with pytest.raises(ValueError):
        bm.records_per_second(10, 0.0)


def _raw(rows):
    return pd.DataFrame(rows, columns=["path", "op", "size", "repeat", "records", "seconds"])


def test_summary_table_rates_come_from_median_and_p95_times():
    raw = _raw([("rest", "read", 100, i, 100, s) for i, s in enumerate([1.0, 2.0, 4.0])]
               + [("seed_sdk", "read", 100, i, 100, s) for i, s in enumerate([2.0, 2.0, 2.0])])
    t = bm.summary_table(raw).set_index("path")
    assert t.loc["rest", "median_s"] == 2.0 and t.loc["rest", "records_per_s"] == 50.0
    assert t.loc["rest", "p95_s"] == pytest.approx(3.8)
    assert t.loc["rest", "records_per_s_p95"] == pytest.approx(100 / 3.8)
    assert t.loc["rest", "records_per_s_p95"] <= t.loc["rest", "records_per_s"]
    assert t.loc["seed_sdk", "repeats"] == 3


def test_ratio_table_and_key_figures_compare_paths_at_the_same_size():
    raw = _raw([("rest", "read", 10, 0, 10, 0.1), ("seed_sdk", "read", 10, 0, 10, 0.4),
                ("rest", "read", 1000, 0, 1000, 1.0), ("seed_sdk", "read", 1000, 0, 1000, 4.0),
                ("toolkit", "read", 1000, 0, 1000, 0.5),
                ("rest", "coql", 10, 0, 10, 0.1), ("seed_sdk", "coql", 10, 0, 10, 0.05)])
    summary = bm.summary_table(raw)
    ratios = bm.ratio_table(summary, "seed_sdk", "rest").set_index(["op", "size"])["ratio"]
    assert ratios[("read", 1000)] == pytest.approx(0.25) and ratios[("coql", 10)] == pytest.approx(2.0)
    k = bm.key_figures(summary)
    assert k["size"] == {"read": 1000, "coql": 10}
    assert k["records_per_s"]["toolkit"] == {"read": 2000.0}
    assert k["sdk_vs_rest"] == {"read": 0.25, "coql": 2.0}
    assert k["toolkit_vs_sdk"] == {"read": 8.0}


def test_verdict_names_what_was_measured_in_plain_words():
    yes = bm.sdk_claim_verdict({"read": 1.5, "search": 1.35})
    assert yes.startswith("The claim holds") and "read: SDK 50% faster" in yes
    no = bm.sdk_claim_verdict({"read": 0.2, "coql": 0.5})
    assert no.startswith("The claim does not hold") and "80% slower (5.0x the time)" in no
    mixed = bm.sdk_claim_verdict({"read": 0.5, "bulk_update": 1.4})
    assert "only for bulk_update" in mixed and "slower for read" in mixed
    assert "not tested" in bm.sdk_claim_verdict({})


def test_seed_table_puts_published_figures_beside_measured_ones():
    raw = _raw([("rest", "read", 100, 0, 100, 0.5), ("rest", "search", 50, 0, 50, 0.25)])
    t = bm.seed_comparison(bm.summary_table(raw)).set_index("operation")
    assert list(t.index) == [f.label for f in bm.SEED_FIGURES]
    assert t.loc["Get 100 accounts", "seed_s"] == 1.2 and t.loc["Get 100 accounts", "rest_s"] == 0.5
    assert t.loc["Search 50 accounts", "rest_records_per_s"] == 200.0
    assert pd.isna(t.loc["Bulk update 150 records", "rest_s"])


def test_plan_caps_single_updates_and_adds_the_seed_points_once():
    plan = bm.Plan(sizes=[10, 100, 1000], ops=("read", "update"), single_update_max=20,
                   extra_points=[("read", 100), ("read", 200), ("bulk_update", 150)])
    # sizes past the cap measure the same 20 single updates once; bulk_update is not in ops
    assert plan.points() == [("read", 10), ("update", 10), ("read", 100), ("update", 20), ("read", 1000),
                             ("read", 200)]
    assert plan.records_for("update", 1000) == 20 and plan.records_for("read", 1000) == 1000


def test_writes_to_a_real_org_need_explicit_consent():
    ops = ["read", "update", "coql", "bulk_update"]
    assert bm.allowed_ops(ops, on_emulator=True) == (ops, [])
    assert bm.allowed_ops(ops, on_emulator=False) == (["read", "coql"], ["update", "bulk_update"])
    assert bm.allowed_ops(ops, on_emulator=False, allow_writes_on_real=True) == (ops, [])
    with pytest.raises(bm.BenchmarkError):
        bm.allowed_ops(["read", "delete"], on_emulator=True)


# --- the runner over a real path (plain REST against the emulator) ---------------------------------

def _rest(z, **workload):
    from sergas_nb.emulator.state.metadata import fields_for

    w = bm.Workload(fields=tuple(f["api_name"] for f in fields_for("Accounts"))[:10], **workload)
    return bm.RestPath(z.url, bm.fetch_access_token(z.token_url, z.client_id, z.client_secret, z.refresh_token), w)


def test_run_times_every_point_and_writes_what_it_says(fresh_emulator):
    rest = _rest(fresh_emulator)
    ids = rest.first_ids(3)
    plan = bm.Plan(sizes=[3, 250], ops=("read", "coql", "update", "bulk_update"), repeats=2, single_update_max=2)
    raw = bm.run([rest], plan, rest.first_ids(250))
    assert len(raw) == len(plan.points()) * 2 and (raw["seconds"] > 0).all()
    assert raw.groupby(["op", "size"])["records"].first().to_dict() == {
        ("bulk_update", 3): 3, ("bulk_update", 250): 250, ("coql", 3): 3, ("coql", 250): 250,
        ("read", 3): 3, ("read", 250): 250, ("update", 2): 2}
    got = rest.session.get(f"{fresh_emulator.url}/crm/v8/Accounts/{ids[0]}", timeout=10).json()["data"][0]
    assert got["Description"] == "benchmark rest bulk_update 250 #1"  # the last write of the run


def test_run_refuses_a_path_that_did_less_than_asked(fresh_emulator):
    rest = _rest(fresh_emulator, search_criteria="(Account_Name:equals:Nosuchcompanyanywhere)")
    with pytest.raises(bm.BenchmarkError, match="asked for 5 records, handled 0"):
        bm.run([rest], bm.Plan(sizes=[5], ops=("search",), repeats=1), [])
    with pytest.raises(bm.BenchmarkError, match="need 5 record ids"):
        bm.run([rest], bm.Plan(sizes=[5], ops=("bulk_update",), repeats=1), ["1"])


# --- the notebook under papermill -----------------------------------------------------------------

NOTEBOOK = NOTEBOOKS_DIR / "04_performance_benchmarks.ipynb"
TOKEN_SHAPE = re.compile(r"1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}")
# Tiny sizes keep the run to seconds; 1,000 records is where the paths' costs separate clearly.
PARAMS = {"sizes": [20, 1000], "repeats": 2, "latency_per_call": 0.005, "latency_per_record": 0.00001,
          "single_update_max": 5, "concurrency": 2, "seed_points": False,
          "large_sizes": [300, 2300], "large_update": 150, "large_repeats": 1,
          "large_latency_per_call": 0.01, "large_latency_per_record": 0.00001}


@pytest.fixture(scope="module")
def executed(emulator, tmp_path_factory):
    """One papermill run shared by the assertions below (reset first: OAuth limits, latency, data)."""
    z = emulator
    z.control.reset()
    tmp_path = tmp_path_factory.mktemp("nb04")
    env = kernel_env(z)
    out = tmp_path / "04_performance_benchmarks.ipynb"
    try:
        summary = run_notebook(NOTEBOOK, out, PARAMS, env=env, cwd=tmp_path, timeout=180)
        latency_after = requests.get(z.url + "/__emulator__/latency", timeout=10).json()
    finally:
        z.control.reset()  # the notebook wrote to the first accounts: leave the session emulator pristine
    return summary, out, z, latency_after


def test_notebook_measures_every_path_and_operation(executed):
    summary, _, _, _ = executed
    assert summary["target"] == "emulator"
    assert summary["paths"] == ["seed_sdk", "toolkit", "toolkit_x2", "rest"]
    assert summary["size"] == {"read": 1000, "search": 1000, "coql": 1000, "update": 5, "bulk_update": 1000}
    for path in summary["paths"]:
        rates = summary["records_per_s"][path]
        assert set(rates) == set(bm.OPS), path
        assert all(r > 0 for r in rates.values()), (path, rates)


def test_toolkit_reads_faster_than_the_seed_sdk_path_and_rest_beats_the_sdk(executed):
    summary, _, _, _ = executed
    # Measured about 4x (toolkit vs seed SDK) and 0.15-0.2 (SDK vs REST) for 1,000 records. What
    # the report tells a reader is the direction (the verdict below says "slower" under 1), so
    # that is what is asserted: a loaded machine measured 0.72, and how much faster is the
    # benchmark's to print, not a test's to time.
    assert summary["toolkit_vs_sdk"]["read"] > 1.5
    assert summary["toolkit_vs_sdk"]["search"] > 1.5
    assert summary["sdk_vs_rest"]["read"] < 1
    assert summary["sdk_vs_rest"]["coql"] < 1
    assert summary["verdict"].startswith("The claim does not hold")
    assert "read: SDK" in summary["verdict"]


def test_notebook_shows_plots_and_tables_and_no_secret(executed):
    _, out, z, _ = executed
    nb = nbformat.read(str(out), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3  # throughput bars, throughput vs size, the SDK-vs-REST claim
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "seed_records_per_s" in html and "records_per_s_p95" in html
    text = out.read_text()
    for secret in (z.client_secret, z.refresh_token):
        assert secret not in text
    assert not TOKEN_SHAPE.search(text)


def test_notebook_large_section_compares_toolkit_floor_and_seed(executed):
    summary, _, _, _ = executed
    large = summary["large"]
    assert set(large["workloads"]) == {"read_300", "read_300_cold_meta", "read_2300", "update_150"}
    for name, w in large["workloads"].items():
        assert w["toolkit_s"] > 0 and w["floor_s"] > 0, name
        # A first read with cold metadata is the toolkit's own case: the seed's path has no cache.
        assert name.endswith("_cold_meta") or w["seed_s"] > 0, name
        assert w["ratio_to_floor"] == pytest.approx(w["toolkit_s"] / w["floor_s"], rel=0.05)
    assert large["workloads"]["update_150"]["toolkit_batches_s"] > 0
    # A wide margin for a loaded machine: the seed's serial SDK pages are far behind at 2,300.
    assert large["workloads"]["read_2300"]["speedup_vs_seed"] > 1.5
    assert large["cpu"]["records"] == 2300 and large["cpu_per_1k_ratio"] > 0


def test_scale_table_and_summary_from_samples():
    from sergas_nb.benchmarking.scale import ScaleResult

    samples = pd.DataFrame(
        [("read_10", p, r, s, 10) for p, ss in (("toolkit", [1.0, 3.0, 2.0]), ("floor", [1.0, 1.0, 1.0]),
                                                ("seed", [8.0, 8.0, 9.0])) for r, s in enumerate(ss)],
        columns=["workload", "path", "repeat", "seconds", "records"],
    )
    result = ScaleResult(samples, {"ratio": 1.2}, {"ratio": 2.0})
    w = result.summary()["workloads"]["read_10"]
    assert w == {"toolkit_s": 2.0, "floor_s": 1.0, "seed_s": 8.0, "ratio_to_floor": 2.0, "speedup_vs_seed": 4.0}
    assert result.summary()["cpu_per_1k_ratio"] == 1.2 and result.summary()["mem_ratio_100k"] == 2.0


def test_notebook_restores_the_emulator_latency_it_set(executed):
    *_, latency_after = executed
    assert latency_after == {"fixed": 0.0, "per_record": 0.0}


def test_committed_notebook_has_no_outputs_and_a_parameters_cell():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tags = [t for c in code for t in c.metadata.get("tags", [])]
    assert tags.count("parameters") == 1 and tags.count("summary") == 1
