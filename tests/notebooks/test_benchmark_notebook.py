"""The performance notebook and the statistics behind it.

The notebook runs under papermill against the session emulator with tiny sizes; the assertions
are on the numbers it printed, and only on relations robust on a noisy machine (positive rates,
every operation present, ratios with wide margins).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sergas_nb import benchmarking as bm

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
    plan = bm.Plan(sizes=[100, 1000], ops=("read", "update"), single_update_max=20,
                   extra_points=[("read", 100), ("read", 200), ("bulk_update", 150)])
    assert plan.points() == [("read", 100), ("update", 100), ("read", 1000), ("update", 1000), ("read", 200)]
    assert plan.records_for("update", 1000) == 20 and plan.records_for("read", 1000) == 1000
