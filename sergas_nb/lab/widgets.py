"""Interactive account explorer for notebooks (ipywidgets over a typed accounts DataFrame).

The filtering, sorting and aggregation are pure functions (`filter_accounts`, `sort_accounts`,
`summarize`, `chart_data`) so they are testable without a kernel or browser; `AccountExplorer` only
wires widgets to them. Everything renders to plain HTML and PNG bytes held in widget state, so an
executed notebook exported to HTML (with a local widget renderer) shows the explorer offline.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd
from matplotlib.figure import Figure

from sergas_nb.health import COLUMNS as HEALTH_COLUMNS

ALL = "All"

# criterion name -> candidate columns, first present wins. Owner may come flattened either way.
CATEGORY_FILTERS: dict[str, tuple[str, ...]] = {
    "industry": ("Industry",),
    "owner": ("Owner.name", "Owner_name"),
    "country": ("Billing_Country",),
    "rating": ("Rating",),
    "status": ("Account_Status",),
}
FILTER_LABELS = {"industry": "Industry", "owner": "Owner", "country": "Country", "rating": "Rating", "status": "Status"}
NAME_COLUMN = "Account_Name"
REVENUE_COLUMN = "Annual_Revenue"
HEALTH_COLUMN = "Health_Score"

# Columns shown in the table and detail panel, in this order, when present.
TABLE_COLUMNS = (
    "Account_Name",
    "Industry",
    "Owner.name",
    "Owner_name",
    "Billing_Country",
    "Billing_City",
    "Rating",
    "Account_Status",
    "Annual_Revenue",
    "Health_Score",
    "Employees",
    "Last_Engagement_Date",
    "Modified_Time",
    # Account health signals (sergas_nb.health), when joined in: sortable like any column.
    *HEALTH_COLUMNS,
)
QUIET_COLUMN = "days_since_activity"
OVERDUE_COLUMN = "overdue_tasks"
DETAIL_COLUMNS = (
    "id",
    "Account_Name",
    "Account_Number",
    "Account_Type",
    "Industry",
    "Owner.name",
    "Owner_name",
    "Owner.email",
    "Owner_email",
    "Rating",
    "Account_Status",
    "Annual_Revenue",
    "Employees",
    "Health_Score",
    "Phone",
    "Website",
    "Billing_Street",
    "Billing_City",
    "Billing_State",
    "Billing_Code",
    "Billing_Country",
    "Last_Engagement_Date",
    "Created_Time",
    "Modified_Time",
    *HEALTH_COLUMNS,
)

EXPORT_FORMATS = {"CSV": ".csv", "Parquet": ".parquet"}
MAX_DETAIL_OPTIONS = 1000  # a Dropdown with tens of thousands of options bloats the saved widget state


def filter_column(df: pd.DataFrame, criterion: str) -> str | None:
    """The column backing a category criterion, or None when the frame lacks it (filter hidden)."""
    for col in CATEGORY_FILTERS[criterion]:
        if col in df.columns and df[col].notna().any():
            return col
    return None


def _as_values(value: str | Iterable[str] | None) -> list[str] | None:
    """None, "All", "" or an empty collection mean "no restriction"."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    values = [v for v in values if v not in (ALL, "")]
    return values or None


def filter_accounts(
    df: pd.DataFrame,
    *,
    industry: str | Iterable[str] | None = None,
    owner: str | Iterable[str] | None = None,
    country: str | Iterable[str] | None = None,
    rating: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    revenue: tuple[float | None, float | None] | None = None,
    name: str | None = None,
    quiet_days: float | None = None,
    overdue: bool | None = None,
) -> pd.DataFrame:
    """Rows of `df` matching every given criterion.

    Category criteria take one value or several (any of them matches); None/"All" means no
    restriction. `revenue` is an inclusive (low, high) range, either end None for open; accounts
    without a revenue are excluded once a range is set. `name` is a case-insensitive substring of
    Account_Name. Health signals (when joined in): `quiet_days` keeps accounts whose last activity is
    at least that many days ago, or that have none; `overdue=True` those with an overdue task. A
    criterion on a column the frame lacks raises ValueError (the explorer hides such filters
    instead of passing them).
    """
    mask = pd.Series(True, index=df.index)
    for criterion, value in (
        ("industry", industry),
        ("owner", owner),
        ("country", country),
        ("rating", rating),
        ("status", status),
    ):
        values = _as_values(value)
        if values is None:
            continue
        col = next((c for c in CATEGORY_FILTERS[criterion] if c in df.columns), None)
        if col is None:
            raise ValueError(f"cannot filter by {criterion}: none of {CATEGORY_FILTERS[criterion]} in the frame")
        mask &= df[col].isin(values).fillna(False).astype(bool)
    if revenue is not None:
        if REVENUE_COLUMN not in df.columns:
            raise ValueError(f"cannot filter by revenue: no {REVENUE_COLUMN} column")
        low, high = revenue
        rev = pd.to_numeric(df[REVENUE_COLUMN], errors="coerce").astype("Float64")
        keep = rev.notna()
        if low is not None:
            keep &= rev >= low
        if high is not None:
            keep &= rev <= high
        mask &= keep.fillna(False).astype(bool)
    if name:
        if NAME_COLUMN not in df.columns:
            raise ValueError(f"cannot search by name: no {NAME_COLUMN} column")
        names = df[NAME_COLUMN].astype("string").str.casefold()
        mask &= names.str.contains(name.strip().casefold(), regex=False).fillna(False).astype(bool)
    if quiet_days is not None:
        if QUIET_COLUMN not in df.columns:
            raise ValueError(f"cannot filter by quiet days: no {QUIET_COLUMN} column")
        quiet = pd.to_numeric(df[QUIET_COLUMN], errors="coerce").astype("Float64")
        mask &= (quiet >= quiet_days).fillna(True).astype(bool)  # never any activity: as quiet as it gets
    if overdue:
        if OVERDUE_COLUMN not in df.columns:
            raise ValueError(f"cannot filter by overdue tasks: no {OVERDUE_COLUMN} column")
        mask &= (pd.to_numeric(df[OVERDUE_COLUMN], errors="coerce") > 0).fillna(False).astype(bool)
    return df.loc[mask]


def _sort_key(s: pd.Series) -> pd.Series:
    # Text sorts case-insensitively (Zoho shows "acme" next to "Acme"); numbers and dates as they are.
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        return s.astype("string").str.casefold()
    return s


def sort_accounts(df: pd.DataFrame, column: str | None, ascending: bool = True) -> pd.DataFrame:
    """`df` sorted by `column` (stable, missing values last); unchanged when column is None/absent."""
    if not column or column not in df.columns:
        return df
    return df.sort_values(column, ascending=ascending, na_position="last", kind="stable", key=_sort_key)


def summarize(df: pd.DataFrame) -> dict[str, float | int | None]:
    """Headline numbers of a selection; None where the frame has no such column or no values."""

    def stat(col: str, how: str) -> float | None:
        if col not in df.columns:
            return None
        s = pd.to_numeric(df[col], errors="coerce").dropna()
        if s.empty:
            return None if how != "sum" else 0.0
        return float(getattr(s, how)())

    return {
        "count": int(len(df)),
        "total_revenue": stat(REVENUE_COLUMN, "sum"),
        "median_revenue": stat(REVENUE_COLUMN, "median"),
        "mean_health": stat(HEALTH_COLUMN, "mean"),
    }


def chart_data(df: pd.DataFrame, top: int = 10) -> dict[str, pd.Series]:
    """The series behind the charts: revenue by industry, accounts by owner, health score counts."""
    out: dict[str, pd.Series] = {}
    industry = filter_column(df, "industry")
    if industry and REVENUE_COLUMN in df.columns:
        rev = pd.to_numeric(df[REVENUE_COLUMN], errors="coerce")
        by = rev.groupby(df[industry].astype("string"), observed=True).sum(min_count=1).dropna()
        out["revenue_by_industry"] = by.sort_values(ascending=False).head(top)
    owner = filter_column(df, "owner")
    if owner:
        out["accounts_by_owner"] = df[owner].astype("string").value_counts().head(top)
    if HEALTH_COLUMN in df.columns:
        health = pd.to_numeric(df[HEALTH_COLUMN], errors="coerce").dropna()
        out["health_scores"] = health.astype(float)
    if QUIET_COLUMN in df.columns:
        out["days_since_activity"] = pd.to_numeric(df[QUIET_COLUMN], errors="coerce").dropna().astype(float)
    return out


summarize_accounts = summarize  # the root API's name (sn.summarize_accounts)


def render_charts(df: pd.DataFrame, dpi: int = 80) -> bytes:
    """One PNG with the three charts. Figure() directly: no pyplot state, no backend, no leaks."""
    data = chart_data(df)
    panels = [
        k for k in ("revenue_by_industry", "accounts_by_owner", "health_scores", "days_since_activity") if k in data
    ]
    fig = Figure(figsize=(4.2 * max(len(panels), 1), 3.4), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    if not panels or df.empty:
        axes[0].text(0.5, 0.5, "No accounts match the filters", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, key in zip(axes, panels, strict=False):
        series = data[key]
        if key == "revenue_by_industry":
            s = series.iloc[::-1] / 1e6
            ax.barh([str(i) for i in s.index], s.to_numpy(dtype=float), color="#2b6cb0")
            ax.set_title("Revenue by industry (M)")
        elif key == "accounts_by_owner":
            s = series.iloc[::-1]
            ax.barh([str(i) for i in s.index], s.to_numpy(dtype=float), color="#38a169")
            ax.set_title("Accounts by owner")
        elif key == "days_since_activity":
            if len(series):
                ax.hist(series.to_numpy(), bins=20, color="#805ad5", edgecolor="white")
            ax.set_title("Days since last activity")
            ax.set_xlabel("Days")
        else:
            if len(series):
                ax.hist(series.to_numpy(), bins=range(0, 105, 5), color="#dd6b20", edgecolor="white")
            ax.set_title("Health score distribution")
            ax.set_xlabel("Health score")
        ax.tick_params(labelsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _fmt(value: Any, column: str) -> str:
    if value is None or (not isinstance(value, (str, list, dict)) and pd.isna(value)):
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if column.endswith("_Date") else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and column in (REVENUE_COLUMN, "open_pipeline"):
        return f"{value:,.0f}"
    if isinstance(value, float) and column in (QUIET_COLUMN, "open_pipeline_age_days"):
        return f"{value:,.1f}"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if column != "id" else str(value)
    return str(value)


def render_table(df: pd.DataFrame, columns: Sequence[str], rows: int) -> str:
    """An escaped HTML table of the first `rows` rows; plain HTML so it survives an HTML export."""
    cols = [c for c in columns if c in df.columns]
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>" for c in cols)
    body = []
    for rec in df[cols].head(rows).itertuples(index=False, name=None):
        cells = "".join(
            f"<td data-col='{html.escape(c)}' style='padding:2px 8px;white-space:nowrap'>{html.escape(_fmt(v, c))}</td>"
            for c, v in zip(cols, rec, strict=False)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f"<tr><td colspan='{max(len(cols), 1)}'><em>No accounts match the filters.</em></td></tr>")
    return (
        "<div style='max-height:420px;overflow:auto'>"
        "<table class='sergas-accounts-table' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def render_detail(row: pd.Series | None) -> str:
    if row is None:
        return "<em>No account selected.</em>"
    items = "".join(
        f"<tr><th style='text-align:left;padding:1px 8px'>{html.escape(c)}</th>"
        f"<td style='padding:1px 8px'>{html.escape(_fmt(row[c], c))}</td></tr>"
        for c in DETAIL_COLUMNS
        if c in row.index
    )
    return f"<table style='font-size:12px'>{items}</table>"


def _money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


class AccountExplorer(w.VBox):
    """Filters, a sortable table, a detail panel, charts, summary numbers and export over accounts.

    `explorer.filtered` is the current (filtered, sorted) frame; `explorer.count_label.value` the
    visible count. Initial criteria (same names as `filter_accounts`) preselect filters, which lets
    a papermill parameter open the explorer on, say, one industry.
    """

    def __init__(
        self,
        df: pd.DataFrame | None = None,
        *,
        rows: int = 25,
        export_dir: str | Path = ".",
        charts: bool = True,
        mirror: Any = None,
        health: pd.DataFrame | None = None,
        related: Callable[[str], dict[str, pd.DataFrame]] | None = None,
        **criteria: Any,
    ) -> None:
        # mirror: a sn.Mirror to start from (its Accounts, from disk, no API call) instead of df
        if df is None:
            if mirror is None:
                raise ValueError("AccountExplorer needs accounts: a DataFrame, or mirror=sn.Mirror(...)")
            df = mirror.frame("Accounts")
        # Account 360: health signals (sergas_nb.health) join the table; `related` gives the detail
        # tab an account's contacts, deals, activities and notes (sergas_nb.lab.account360).
        if health is not None:
            df = df.merge(health, on="id", how="left", suffixes=("", "_health"))
        self.related = related
        self.df = df
        self.rows = rows
        self.export_dir = Path(export_dir)
        self._charts_enabled = charts
        self._refreshing = False
        self._updating_detail = False
        self.filtered: pd.DataFrame = df
        self.table_columns = [c for c in TABLE_COLUMNS if c in df.columns]
        # Flattened owner: only one of the alternatives is shown.
        if "Owner.name" in self.table_columns and "Owner_name" in self.table_columns:
            self.table_columns.remove("Owner_name")

        # Category filters: a Dropdown per criterion whose column exists and has values.
        self.filters: dict[str, w.Dropdown] = {}
        for criterion in CATEGORY_FILTERS:
            col = filter_column(df, criterion)
            if col is None:
                continue  # e.g. a real org without the custom Account_Status field
            values = sorted({str(v) for v in df[col].dropna().unique()}, key=str.casefold)
            dd = w.Dropdown(
                options=[ALL, *values], value=ALL, description=FILTER_LABELS[criterion], layout=w.Layout(width="260px")
            )
            dd.add_class(f"sergas-filter-{criterion}")
            self.filters[criterion] = dd

        self.revenue: w.FloatRangeSlider | None = None
        if REVENUE_COLUMN in df.columns:
            rev = pd.to_numeric(df[REVENUE_COLUMN], errors="coerce").dropna()
            if len(rev) and rev.max() > rev.min():
                lo, hi = float(math.floor(rev.min())), float(math.ceil(rev.max()))
                self.revenue = w.FloatRangeSlider(
                    value=(lo, hi),
                    min=lo,
                    max=hi,
                    step=max((hi - lo) / 1000, 1.0),
                    description="Revenue",
                    readout_format=".3s",
                    continuous_update=False,
                    layout=w.Layout(width="520px"),
                )
                self.revenue.add_class("sergas-filter-revenue")

        self.quiet: w.BoundedIntText | None = None
        self.overdue: w.Checkbox | None = None
        if QUIET_COLUMN in df.columns:
            self.quiet = w.BoundedIntText(
                value=0, min=0, max=100000, description="Quiet ≥ days", layout=w.Layout(width="200px")
            )
            self.quiet.add_class("sergas-filter-quiet")
        if OVERDUE_COLUMN in df.columns:
            self.overdue = w.Checkbox(value=False, description="Has overdue tasks", indent=False)
            self.overdue.add_class("sergas-filter-overdue")

        self.name_search: w.Text | None = None
        if NAME_COLUMN in df.columns:
            self.name_search = w.Text(
                description="Name",
                placeholder="part of the account name",
                continuous_update=True,
                layout=w.Layout(width="260px"),
            )
            self.name_search.add_class("sergas-filter-name")

        self.reset_button = w.Button(description="Reset filters", icon="undo")
        self.reset_button.add_class("sergas-reset")

        sortable = list(self.table_columns)
        self.sort_column = w.Dropdown(
            options=sortable,
            value=sortable[0] if sortable else None,
            description="Sort by",
            layout=w.Layout(width="260px"),
        )
        self.sort_column.add_class("sergas-sort-column")
        self.sort_order = w.ToggleButtons(
            options=[("asc", True), ("desc", False)], value=True, style={"button_width": "60px"}
        )
        self.sort_order.add_class("sergas-sort-order")

        self.count_label = w.HTML()
        self.count_label.add_class("sergas-count")
        self.summary_html = w.HTML()
        self.summary_html.add_class("sergas-summary")
        self.table = w.HTML()
        self.table.add_class("sergas-table")

        self.detail_select = w.Dropdown(description="Account", layout=w.Layout(width="420px"))
        self.detail_select.add_class("sergas-detail-select")
        self.detail = w.HTML()
        self.detail.add_class("sergas-detail")
        self.related_html = w.HTML()
        self.related_html.add_class("sergas-related-panel")

        self.chart = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.chart.add_class("sergas-charts")

        self.export_name = w.Text(value="accounts_selection.csv", description="File", layout=w.Layout(width="320px"))
        self.export_name.add_class("sergas-export-name")
        self.export_format = w.ToggleButtons(options=list(EXPORT_FORMATS), value="CSV", style={"button_width": "70px"})
        self.export_format.add_class("sergas-export-format")
        self.export_button = w.Button(description="Export selection", icon="download", button_style="primary")
        self.export_button.add_class("sergas-export-button")
        self.export_status = w.HTML()
        self.export_status.add_class("sergas-export-status")

        # Preselect initial criteria before wiring observers, then render once.
        self._apply_criteria(criteria)
        for control in (
            *self.filters.values(),
            self.revenue,
            self.name_search,
            self.quiet,
            self.overdue,
            self.sort_column,
            self.sort_order,
        ):
            if control is not None:
                control.observe(self._on_change, names="value")
        self.detail_select.observe(self._on_detail, names="value")
        self.export_format.observe(self._on_format, names="value")
        self.export_button.on_click(lambda _b: self._export_clicked())
        self.reset_button.on_click(lambda _b: self.reset())

        filter_rows = [w.HBox(list(self.filters.values())[i : i + 3]) for i in range(0, len(self.filters), 3)]
        extra = [c for c in (self.name_search, self.revenue, self.quiet, self.overdue) if c is not None]
        tabs = w.Tab(
            children=[
                w.VBox([w.HBox([self.sort_column, self.sort_order]), self.table]),
                w.VBox([self.detail_select, w.HBox([self.detail, self.related_html])]),
                self.chart,
                w.VBox([w.HBox([self.export_name, self.export_format, self.export_button]), self.export_status]),
            ]
        )
        for i, title in enumerate(("Table", "Detail", "Charts", "Export")):
            tabs.set_title(i, title)
        tabs.add_class("sergas-tabs")
        super().__init__(
            children=[
                *filter_rows,
                w.HBox([*extra, self.reset_button]),
                w.HBox([self.count_label, self.summary_html]),
                tabs,
            ]
        )
        self.add_class("sergas-explorer")
        self.refresh()

    # --- state -------------------------------------------------------------------------------
    def criteria(self) -> dict[str, Any]:
        """The current filter values in `filter_accounts` terms (unrestricted ones left out)."""
        out: dict[str, Any] = {k: dd.value for k, dd in self.filters.items() if dd.value != ALL}
        if self.revenue is not None and tuple(self.revenue.value) != (self.revenue.min, self.revenue.max):
            out["revenue"] = tuple(self.revenue.value)
        if self.name_search is not None and self.name_search.value.strip():
            out["name"] = self.name_search.value
        if self.quiet is not None and self.quiet.value > 0:
            out["quiet_days"] = self.quiet.value
        if self.overdue is not None and self.overdue.value:
            out["overdue"] = True
        return out

    def _apply_criteria(self, criteria: dict[str, Any]) -> None:
        for key, value in criteria.items():
            if value is None:
                continue
            if key in self.filters:
                if value not in self.filters[key].options:
                    raise ValueError(f"{key}={value!r} is not among {list(self.filters[key].options)[1:]}")
                self.filters[key].value = value
            elif key == "revenue" and self.revenue is not None:
                lo, hi = value
                self.revenue.value = (
                    max(lo if lo is not None else self.revenue.min, self.revenue.min),
                    min(hi if hi is not None else self.revenue.max, self.revenue.max),
                )
            elif key == "name" and self.name_search is not None:
                self.name_search.value = value
            elif key == "quiet_days" and self.quiet is not None:
                self.quiet.value = int(value)
            elif key == "overdue" and self.overdue is not None:
                self.overdue.value = bool(value)
            else:
                raise ValueError(f"unknown or unavailable filter {key!r} (available: {self.available_filters()})")

    def available_filters(self) -> list[str]:
        names = list(self.filters)
        if self.revenue is not None:
            names.append("revenue")
        if self.name_search is not None:
            names.append("name")
        if self.quiet is not None:
            names.append("quiet_days")
        if self.overdue is not None:
            names.append("overdue")
        return names

    @contextlib.contextmanager
    def _one_refresh(self) -> Iterator[None]:
        """Change several controls inside the block; the explorer refreshes once, after it."""
        self._refreshing = True
        try:
            yield
        finally:
            self._refreshing = False
        self.refresh()

    def set_filters(self, **criteria: Any) -> None:
        """Set several filters with one refresh (what a user does by hand, from code)."""
        with self._one_refresh():
            self._apply_criteria(criteria)

    def reset(self) -> None:
        with self._one_refresh():
            for dd in self.filters.values():
                dd.value = ALL
            if self.revenue is not None:
                self.revenue.value = (self.revenue.min, self.revenue.max)
            if self.name_search is not None:
                self.name_search.value = ""
            if self.quiet is not None:
                self.quiet.value = 0
            if self.overdue is not None:
                self.overdue.value = False

    def summary(self) -> dict[str, float | int | None]:
        return summarize(self.filtered)

    # --- rendering ----------------------------------------------------------------------------
    def _on_change(self, _change: dict) -> None:
        if not self._refreshing:
            self.refresh()

    def refresh(self) -> None:
        selected = filter_accounts(self.df, **self.criteria())
        self.filtered = sort_accounts(selected, self.sort_column.value, self.sort_order.value)
        n, total = len(self.filtered), len(self.df)
        self.count_label.value = f"<b class='sergas-count-value' data-count='{n}'>{n:,}</b> of {total:,} accounts"
        s = self.summary()
        parts = []
        if s["total_revenue"] is not None:
            parts += [
                f"total revenue <b>{_money(s['total_revenue'])}</b>",
                f"median revenue <b>{_money(s['median_revenue'])}</b>",
            ]
        if s["mean_health"] is not None:
            parts.append(f"mean health <b>{s['mean_health']:.1f}</b>")
        self.summary_html.value = ("&nbsp;·&nbsp;" + " · ".join(parts)) if parts else ""
        shown = min(n, self.rows)
        self.table.value = f"<div class='sergas-table-caption'>Showing {shown:,} of {n:,}</div>" + render_table(
            self.filtered, self.table_columns, self.rows
        )
        self._refresh_detail_options()
        if self._charts_enabled:
            self.chart.value = render_charts(self.filtered)

    def _refresh_detail_options(self) -> None:
        options: list[tuple[str, str]] = []
        if "id" in self.filtered.columns:
            head = self.filtered.head(MAX_DETAIL_OPTIONS)
            names = (head[NAME_COLUMN] if NAME_COLUMN in head.columns else head["id"]).astype("string")
            options = list(zip(names.fillna("(no name)").tolist(), head["id"].astype(str).tolist(), strict=False))
        previous = self.detail_select.value
        ids = [v for _, v in options]
        # Swapping options fires value changes; render the detail once, after, for the final value.
        self._updating_detail = True
        try:
            self.detail_select.options = options
            # Keep the current account selected while it still matches the filters.
            self.detail_select.value = previous if previous in ids else (ids[0] if ids else None)
        finally:
            self._updating_detail = False
        self._show_detail(self.detail_select.value)

    def _on_detail(self, change: dict) -> None:
        if not self._updating_detail:
            self._show_detail(change["new"])

    def _show_detail(self, account_id: str | None) -> None:
        row = None
        if account_id is not None:
            match = self.filtered[self.filtered["id"].astype(str) == account_id]
            row = match.iloc[0] if len(match) else None
        self.detail.value = render_detail(row)
        if self.related is not None:
            from sergas_nb.lab.account360 import render_related

            details = self.related(account_id) if row is not None and account_id is not None else None
            self.related_html.value = render_related(details, account_id=account_id)

    # --- export -------------------------------------------------------------------------------
    def _on_format(self, change: dict) -> None:
        suffix = EXPORT_FORMATS[change["new"]]
        self.export_name.value = str(Path(self.export_name.value or "accounts_selection").with_suffix(suffix))

    def export(self, path: str | Path | None = None) -> Path:
        """Write the current selection (filtered, in table order) to CSV or Parquet by suffix."""
        target = (
            Path(path) if path is not None else self.export_dir / (self.export_name.value or "accounts_selection.csv")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".parquet":
            self.filtered.to_parquet(target, index=False)
        elif target.suffix.lower() == ".csv":
            self.filtered.to_csv(target, index=False)
        else:
            raise ValueError(f"export needs a .csv or .parquet file name, got {target.name!r}")
        return target

    def _export_clicked(self) -> None:
        try:
            target = self.export()
        except (OSError, ValueError) as exc:
            self.export_status.value = f"<span style='color:#c53030'>Export failed: {html.escape(str(exc))}</span>"
        else:
            self.export_status.value = (
                f"Wrote <b>{len(self.filtered):,}</b> accounts to <code>{html.escape(str(target))}</code>"
            )
