"""A few changed rows are compared in Arrow, many in SQL: both give the same change rows.

The Arrow path (``_diff_few``) is what a re-sync of a few changed records takes; the SQL path is
what a full re-read takes. Every column the emulator's Accounts have is changed somewhere here
(text, numbers, booleans, times, picklists, JSON lists, lookups), to a new value, to null and
from null, and a few rows are new; the two paths must agree cell by cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sergas_nb.mirror import Mirror, columns, write


def _edited(df: pd.DataFrame) -> pd.DataFrame:
    out = df.head(12).copy()
    for j, col in enumerate(c for c in out.columns if c != "id"):
        row = j % 10
        s = out[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out.loc[out.index[row], col] = not bool(s.iloc[row]) if pd.notna(s.iloc[row]) else True
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out.loc[out.index[row], col] = (s.iloc[row] if pd.notna(s.iloc[row]) else 0) + 7
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            base = s.iloc[row] if pd.notna(s.iloc[row]) else s.dropna().iloc[0]
            out.loc[out.index[row], col] = base + pd.Timedelta(seconds=1)
        elif isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            other = [c for c in cats if c != s.iloc[row]]
            out.loc[out.index[row], col] = other[0] if other else None
        elif s.dtype == object:
            out.at[out.index[row], col] = ["changed", str(j)]
        else:
            out.loc[out.index[row], col] = f"changed {j}"
        out.loc[out.index[row + 1], col] = None  # to null (or null again: no change)
    fresh = out.head(2).copy()
    fresh["id"] = ["990000000000000001", "990000000000000002"]
    return pd.concat([out, fresh], ignore_index=True)


def _rows(con, module, name, table, dtypes, types):
    con.register(name, table)
    try:
        differ, added = write._diff(con, module, name, list(dtypes), types, added=True, rows=table)
        got = con.execute("SELECT id, change, field, old, new FROM _diff ORDER BY ALL").fetchall()
    finally:
        con.unregister(name)
    return sorted(differ), added, got


def test_arrow_and_sql_comparisons_give_the_same_change_rows(small_org, crm, tmp_path, monkeypatch):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts"], progress=False)
        state = m._state("Accounts")
        dtypes = columns.dtypes_for(state.meta)
        table = columns.to_arrow(_edited(m.frame("Accounts")), dtypes)
        with m.store.read() as con:
            types = write.existing_columns(con, "Accounts")
            assert table.num_rows * write._FEW <= con.execute('SELECT count(*) FROM "Accounts"').fetchall()[0][0]
            few = _rows(con, "Accounts", "_t_few", table, dtypes, types)
            monkeypatch.setattr(write, "_FEW", 10**9)  # no table is that much larger: the SQL path
            sql = _rows(con, "Accounts", "_t_sql", table, dtypes, types)
    assert few == sql
    differ, added, rows = few
    assert added == 2
    assert len(differ) >= len(dtypes) - 3  # nearly every column changed somewhere (a few were null already)
    assert {r[1] for r in rows} == {"added", "changed"}


def test_nan_equals_nan_and_null_differs_from_a_value():
    import pyarrow as pa

    a = pa.chunked_array([pa.array([np.nan, 1.0, None, None, 2.0])])
    b = pa.chunked_array([pa.array([np.nan, 1.0, None, 3.0, None])])
    assert write._distinct(a, b).to_pylist() == [False, False, False, True, True]
