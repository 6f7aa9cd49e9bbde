"""The account explorer without a browser: filter logic, and widgets reacting as a user would see."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from sergas_nb.emulator.state.seed import generate
from sergas_nb.lab.notebooks import NOTEBOOKS_DIR, kernel_env, run_notebook
from sergas_nb.lab.widgets import (
    AccountExplorer,
    chart_data,
    filter_accounts,
    sort_accounts,
    summarize,
)
from tests.leaks import scan_files
from tests.notebooks._accounts_frame import accounts_frame


@pytest.fixture
def df() -> pd.DataFrame:
    return accounts_frame(60)


def table_rows(explorer: AccountExplorer) -> list[dict[str, str]]:
    """The table as a user reads it: one dict per row, column -> shown text."""
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", explorer.table.value.split("<tbody>", 1)[1]):
        cells = re.findall(r"<td data-col='([^']*)'[^>]*>(.*?)</td>", tr)
        if cells:
            rows.append(dict(cells))
    return rows


def shown_count(explorer: AccountExplorer) -> int:
    return int(re.search(r"data-count='(\d+)'", explorer.count_label.value).group(1))


# --- filter_accounts ----------------------------------------------------------------------------

def test_no_criteria_keeps_everything(df):
    assert filter_accounts(df).equals(df)
    assert filter_accounts(df, industry="All", owner=None, country=[], name="").equals(df)


def test_category_criteria_combine_with_and(df):
    out = filter_accounts(df, industry="Finance", country="Spain")
    assert len(out) > 0
    assert set(out["Industry"]) == {"Finance"} and set(out["Billing_Country"]) == {"Spain"}
    expected = df[(df["Industry"] == "Finance") & (df["Billing_Country"] == "Spain")]
    assert out["id"].tolist() == expected["id"].tolist()


def test_several_values_of_one_criterion_match_any(df):
    out = filter_accounts(df, industry=["Finance", "Retail"])
    assert set(out["Industry"]) == {"Finance", "Retail"}
    assert len(out) == int(df["Industry"].isin(["Finance", "Retail"]).sum())


def test_missing_picklist_values_only_match_all(df):
    assert df["Rating"].isna().sum() > 0
    out = filter_accounts(df, rating=["Hot", "Warm", "Cold"])
    assert len(out) == int(df["Rating"].notna().sum())


def test_revenue_range_is_inclusive_and_drops_unknown_revenue(df):
    out = filter_accounts(df, revenue=(1_000_000, 2_000_000))
    assert out["Annual_Revenue"].between(1_000_000, 2_000_000).all()
    assert len(out) == int(df["Annual_Revenue"].between(1_000_000, 2_000_000).fillna(False).sum())
    assert 1_000_000 in out["Annual_Revenue"].tolist() and 2_000_000 in out["Annual_Revenue"].tolist()
    open_high = filter_accounts(df, revenue=(5_000_000, None))
    assert len(open_high) == int((df["Annual_Revenue"] >= 5_000_000).fillna(False).sum())


def test_name_search_is_case_insensitive_substring_not_regex(df):
    out = filter_accounts(df, name="UMBRELLA")
    assert len(out) == 15 and out["Account_Name"].str.startswith("umbrella").all()
    assert filter_accounts(df, name="ella 00")["Account_Name"].tolist() == ["umbrella 003", "umbrella 007"]
    assert filter_accounts(df, name="(").empty  # a regex metacharacter is just a character


def test_criterion_on_absent_column_is_an_error(df):
    with pytest.raises(ValueError, match="status"):
        filter_accounts(df.drop(columns=["Account_Status"]), status="Active")


def test_sort_is_case_insensitive_with_missing_last(df):
    names = sort_accounts(df, "Account_Name")["Account_Name"].tolist()
    assert names == sorted(names, key=str.casefold)
    desc = sort_accounts(df, "Annual_Revenue", ascending=False)["Annual_Revenue"]
    assert desc.iloc[0] == df["Annual_Revenue"].max()
    assert desc.tail(int(df["Annual_Revenue"].isna().sum())).isna().all()


def test_summary_numbers(df):
    s = summarize(df[df["Industry"] == "Finance"])
    fin = df[df["Industry"] == "Finance"]
    assert s["count"] == len(fin)
    assert s["total_revenue"] == pytest.approx(float(fin["Annual_Revenue"].sum()))
    assert s["median_revenue"] == pytest.approx(float(fin["Annual_Revenue"].median()))
    assert s["mean_health"] == pytest.approx(float(fin["Health_Score"].mean()))
    assert summarize(df.iloc[0:0]) == {"count": 0, "total_revenue": 0.0, "median_revenue": None, "mean_health": None}


def test_chart_data(df):
    data = chart_data(df)
    rev = data["revenue_by_industry"]
    assert rev["Technology"] == pytest.approx(float(df.loc[df["Industry"] == "Technology", "Annual_Revenue"].sum()))
    assert rev.is_monotonic_decreasing
    assert data["accounts_by_owner"].to_dict() == {"Ana Ruiz": 20, "Ben Cole": 20, "Chen Wu": 20}
    assert len(data["health_scores"]) == int(df["Health_Score"].notna().sum())


# --- the widget ---------------------------------------------------------------------------------

def test_explorer_starts_with_everything(df):
    ex = AccountExplorer(df, rows=10)
    assert shown_count(ex) == 60 and len(ex.filtered) == 60
    assert len(table_rows(ex)) == 10
    assert "Showing 10 of 60" in ex.table.value
    assert set(ex.filters) == {"industry", "owner", "country", "rating", "status"}
    assert ex.filters["industry"].options == ("All", "Finance", "Healthcare", "Retail", "Technology")
    assert ex.revenue is not None and ex.name_search is not None
    assert bytes(ex.chart.value).startswith(b"\x89PNG")


def test_changing_a_filter_updates_table_count_summary_detail_and_charts(df):
    ex = AccountExplorer(df, rows=100)
    before_png = ex.chart.value
    ex.filters["industry"].value = "Healthcare"

    assert shown_count(ex) == 15 and "of 60 accounts" in ex.count_label.value
    rows = table_rows(ex)
    assert len(rows) == 15 and {r["Industry"] for r in rows} == {"Healthcare"}
    assert set(ex.filtered["Industry"]) == {"Healthcare"}
    total = float(df.loc[df["Industry"] == "Healthcare", "Annual_Revenue"].sum())
    assert f"{total:,.0f}" in ex.summary_html.value
    # The detail panel only offers accounts that pass the filters.
    assert {v for _, v in ex.detail_select.options} == set(ex.filtered["id"])
    assert bytes(ex.chart.value) != bytes(before_png)
    assert list(chart_data(ex.filtered)["revenue_by_industry"].index) == ["Healthcare"]

    ex.filters["owner"].value = "Ben Cole"
    assert shown_count(ex) == len(filter_accounts(df, industry="Healthcare", owner="Ben Cole")) == 5
    assert {r["Owner.name"] for r in table_rows(ex)} == {"Ben Cole"}


def test_name_search_and_revenue_slider(df):
    ex = AccountExplorer(df)
    ex.name_search.value = "glob"
    assert shown_count(ex) == 15 and all(r["Account_Name"].startswith("Globex") for r in table_rows(ex))
    ex.name_search.value = ""
    ex.revenue.value = (1_000_000, 2_000_000)
    assert shown_count(ex) == len(filter_accounts(df, revenue=(1_000_000, 2_000_000)))
    assert ex.criteria() == {"revenue": (1_000_000, 2_000_000)}


def test_no_match_says_so(df):
    ex = AccountExplorer(df)
    ex.name_search.value = "no such account"
    assert shown_count(ex) == 0
    assert "No accounts match the filters" in ex.table.value
    assert ex.detail_select.options == () and "No account selected" in ex.detail.value
    assert ex.summary()["count"] == 0


def test_sorting_reorders_the_table(df):
    ex = AccountExplorer(df, rows=5)
    ex.sort_column.value = "Annual_Revenue"
    ex.sort_order.value = False
    assert table_rows(ex)[0]["Annual_Revenue"] == "6,000,000"
    ex.sort_order.value = True
    assert table_rows(ex)[0]["Annual_Revenue"] == "100,000"


def test_detail_panel_shows_selected_account(df):
    ex = AccountExplorer(df)
    target = df.iloc[17]
    ex.detail_select.value = target["id"]
    assert target["Account_Name"] in ex.detail.value and target["Billing_City"] in ex.detail.value
    # Still selected while it passes the filters; replaced when it no longer does.
    ex.filters["industry"].value = str(target["Industry"])
    assert ex.detail_select.value == target["id"]
    ex.filters["industry"].value = "Retail" if target["Industry"] != "Retail" else "Finance"
    assert ex.detail_select.value != target["id"]
    assert ex.detail_select.value in set(ex.filtered["id"])


def test_reset_and_initial_criteria(df):
    ex = AccountExplorer(df, industry="Finance", country="USA")
    assert ex.filters["industry"].value == "Finance"
    assert shown_count(ex) == len(filter_accounts(df, industry="Finance", country="USA"))
    ex.reset()
    assert shown_count(ex) == 60
    with pytest.raises(ValueError, match="Mining"):
        AccountExplorer(df, industry="Mining")


def test_export_csv_writes_the_filtered_rows(df, tmp_path):
    ex = AccountExplorer(df, export_dir=tmp_path)
    ex.filters["country"].value = "Germany"
    ex.export_name.value = "germany.csv"
    ex.export_button.click()
    written = pd.read_csv(tmp_path / "germany.csv", dtype={"id": str})
    assert written["id"].tolist() == ex.filtered["id"].tolist()
    assert set(written["Billing_Country"]) == {"Germany"} and len(written) == 20
    assert "Wrote <b>20</b> accounts" in ex.export_status.value


def test_export_parquet_keeps_types(df, tmp_path):
    ex = AccountExplorer(df, export_dir=tmp_path)
    ex.filters["rating"].value = "Hot"
    ex.export_format.value = "Parquet"
    assert ex.export_name.value == "accounts_selection.parquet"
    ex.export_button.click()
    back = pd.read_parquet(tmp_path / "accounts_selection.parquet")
    assert back["id"].tolist() == ex.filtered["id"].tolist()
    assert str(back["Annual_Revenue"].dtype) == "Float64" and str(back["Health_Score"].dtype) == "Int64"
    assert str(back["Modified_Time"].dtype).endswith("UTC]")


def test_export_with_a_bad_name_reports_instead_of_raising(df, tmp_path):
    ex = AccountExplorer(df, export_dir=tmp_path)
    ex.export_name.value = "selection.xlsx"
    ex.export_button.click()
    assert "Export failed" in ex.export_status.value
    assert list(tmp_path.iterdir()) == []


def test_missing_custom_fields_hide_their_filters(df):
    # A real org without the custom fields and without a rating on any account.
    plain = df.drop(columns=["Account_Status", "Health_Score"]).assign(
        Rating=pd.Categorical([None] * len(df), categories=["Hot"]))
    ex = AccountExplorer(plain)
    assert "status" not in ex.filters and "rating" not in ex.filters
    assert shown_count(ex) == 60
    assert "mean health" not in ex.summary_html.value and ex.summary()["mean_health"] is None
    assert "health_scores" not in chart_data(plain)
    ex.filters["industry"].value = "Retail"
    assert shown_count(ex) == 15
    with pytest.raises(ValueError, match="status"):
        ex.set_filters(status="Active")


def test_minimal_frame_only_ids_and_names():
    df = pd.DataFrame({"id": pd.array(["1", "2"], dtype="string"),
                       "Account_Name": pd.array(["Alpha", "Beta"], dtype="string")})
    ex = AccountExplorer(df)
    assert ex.filters == {} and ex.revenue is None
    ex.name_search.value = "bet"
    assert [r["Account_Name"] for r in table_rows(ex)] == ["Beta"]
    assert bytes(ex.chart.value).startswith(b"\x89PNG")


def test_values_are_html_escaped(df):
    df.loc[0, "Account_Name"] = "<script>alert(1)</script> & Co"
    ex = AccountExplorer(df)
    ex.name_search.value = "script"
    assert "<script>" not in ex.table.value and "&lt;script&gt;" in ex.table.value


# --- the notebook, unattended (papermill) against the emulator ------------------------------------

NOTEBOOK = NOTEBOOKS_DIR / "02_explore_accounts.ipynb"


def test_notebook_explores_the_configured_emulator(fresh_emulator, tmp_path):
    z = fresh_emulator
    accounts = z.store.snapshot()["Accounts"]
    by_industry: dict[str, list[dict]] = {}
    for rec in accounts:
        by_industry.setdefault(rec["Industry"], []).append(rec)
    industry = max(by_industry, key=lambda k: len(by_industry[k]))
    env = kernel_env(z)  # no database: the kernel does not find one by accident
    out = tmp_path / "02.ipynb"
    summary = run_notebook(NOTEBOOK, out, {"target": "emulator", "industry": industry}, env=env, cwd=tmp_path)

    assert summary["accounts"] == len(accounts) == 2500  # past the 2,000 a plain list reaches
    assert summary["total_revenue"] == pytest.approx(sum(r["Annual_Revenue"] or 0 for r in accounts))
    assert summary["filters"] == {"industry": industry}
    chosen = by_industry[industry]
    assert summary["selected"] == summary["exported_rows"] == len(chosen)
    assert summary["selected_revenue"] == pytest.approx(sum(r["Annual_Revenue"] or 0 for r in chosen))
    assert summary["dtypes"] == {"Annual_Revenue": "Float64", "Health_Score": "Int64", "Industry": "category",
                                 "Modified_Time": "datetime64[us, UTC]"}
    exported = pd.read_parquet(tmp_path / "exports" / "accounts_selection.parquet")
    assert set(exported["id"]) == {r["id"] for r in chosen}
    executed = nbformat.read(str(out), as_version=4)
    assert "application/vnd.jupyter.widget-state+json" in executed.metadata.get("widgets", {})
    assert not scan_files([out], [z.client_secret, z.refresh_token])


def test_notebook_starts_its_own_emulator_and_copes_with_few_fields(tmp_path):
    fields = ["Account_Name", "Industry", "Owner", "Billing_Country", "Annual_Revenue"]
    out = tmp_path / "02.ipynb"
    summary = run_notebook(NOTEBOOK, out, {"accounts": 300, "seed": 3, "fields": fields},
                           env=kernel_env(), cwd=tmp_path)  # no emulator named, no database

    seeded = list(generate(seed=3, accounts=300).records["Accounts"].values())
    assert summary["accounts"] == 300 and summary["selected"] == 300
    assert summary["total_revenue"] == pytest.approx(sum(r["Annual_Revenue"] or 0 for r in seeded))
    assert summary["owners"] == len({r["Owner"]["name"] for r in seeded})
    # No Health_Score column: no health numbers, and the explorer still ran.
    assert summary["mean_health"] is None and "Health_Score" not in summary["dtypes"]
    assert not scan_files([out])
