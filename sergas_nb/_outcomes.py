"""One outcome table for every write: a frame with one row per record and a ``status`` column
(success, error, unknown; bulk edits add skipped), its counters and its notebook view.

``WriteResult`` (client writes, Bulk Write) and ``edits``' ``ApplyResult`` both are one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


class OutcomeTable:
    """Counters over ``self.records["status"]`` and an HTML view (mixed into result dataclasses)."""

    records: pd.DataFrame

    def _count(self, status: str) -> int:
        column = self.records["status"]
        arrow = getattr(column.array, "_pa_array", None)
        if _ARROW_STRINGS is not None and arrow is not None and arrow.type == _ARROW_STRINGS:
            # pyarrow's own comparison (missing statuses count as no match, as pandas' ``==``
            # then ``sum`` does): pandas' went through a boolean extension array, a tenth of a
            # 200-record write's client CPU for ``succeeded`` alone
            import pyarrow as pa
            import pyarrow.compute as pc

            return int(pc.sum(pc.equal(arrow, pa.scalar(status, arrow.type))).as_py() or 0)
        return int((column == status).sum())

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def succeeded(self) -> int:
        return self._count("success")

    @property
    def failed(self) -> int:
        return self._count("error")

    @property
    def unknown(self) -> int:
        """Records whose answer was lost and which could not be read back."""
        return self._count("unknown")

    @property
    def failures(self) -> pd.DataFrame:
        """The rows that failed or whose fate is unknown."""
        return self.records[self.records["status"].isin(("error", "unknown"))]

    def _repr_html_(self) -> str:
        return f"<p><b>{self!r}</b></p>" + self.records.to_html(max_rows=20)


class WriteResult(OutcomeTable):
    """Outcome of a write: counts and one row per input record (in input order).

    ``records`` columns: row (input position or index label), id, status ("success", "error", or
    "unknown": the answer was lost and the record could not be read back), code, message, field
    (the field Zoho blamed), action (upserts: insert/update), resolution (how a lost answer was
    settled: "read back: applied", "read back: not applied; sent again", "unresolved").

    A client write's table is built when ``records`` is first read (``of_fates``): the counters
    come from the same fates until then. A 200-row frame cost about a tenth of a 200-record
    write's client CPU, and a script that only asks ``succeeded`` never looks at it.
    """

    def __init__(self, operation: str, module: str, records: pd.DataFrame | None = None) -> None:
        self.operation, self.module = operation, module
        self._records = records
        # No lock: a result is pickled and copied like any value (a lock is neither), and two
        # threads building the table at once build equal frames, one of which is kept.
        self._fates: tuple[list[Any], list[dict[str, Any]]] | None = None

    @classmethod
    def of_fates(cls, operation: str, module: str, labels: list[Any], fates: list[dict[str, Any]]) -> WriteResult:
        """The result of one fate per label (id, status, code, message, ...), its table built
        (``outcome_frame``) when first read."""
        result = cls(operation, module)
        result._fates = (labels, fates)
        return result

    @property
    def records(self) -> pd.DataFrame:
        records = self._records
        if records is None:
            labels, fates = self._fates if self._fates is not None else ([], [])
            records = self._records = outcome_frame(labels, fates)
            self._fates = None
        return records

    @records.setter
    def records(self, frame: pd.DataFrame) -> None:
        self._records, self._fates = frame, None

    def _pending(self) -> list[dict[str, Any]] | None:
        """The fates, while the table is not built (nothing could have changed it yet)."""
        fates = self._fates
        return fates[1] if self._records is None and fates is not None else None

    def _count(self, status: str) -> int:
        fates = self._pending()
        if fates is not None:
            return sum(1 for f in fates if f.get("status") == status)
        return super()._count(status)

    @property
    def total(self) -> int:
        fates = self._pending()
        return len(fates) if fates is not None else len(self.records)

    @property
    def resolved(self) -> int:
        """Records whose answer was lost and whose fate was settled by reading them back."""
        fates = self._pending()
        if fates is not None:
            return sum(1 for f in fates if f.get("resolution") is not None and f.get("resolution") != "unresolved")
        return int(self.records["resolution"].notna().sum() - (self.records["resolution"] == "unresolved").sum())

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unknown == 0

    def __getitem__(self, key: str) -> Any:  # the seed guide's result["total"] keeps working
        if key in ("total", "succeeded", "failed", "unknown"):
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return (
            f"WriteResult({self.operation} {self.module}: total={self.total}, "
            f"succeeded={self.succeeded}, failed={self.failed}, unknown={self.unknown})"
        )


RESULT_DTYPES = {
    "row": "object",
    "id": "string",
    "status": "string",
    "code": "string",
    "message": "string",
    "field": "string",
    "action": "string",
    "resolution": "string",
}


def _arrow_strings() -> Any:
    """The pyarrow type behind pandas' "string" dtype here, when it is pyarrow (else None)."""
    try:
        import pyarrow as pa

        probe = pd.array([], dtype="string")
        kind = probe._pa_array.type if isinstance(probe, pd.arrays.ArrowStringArray) else None
        return kind if kind in (pa.string(), pa.large_string()) else None
    except (ImportError, AttributeError):
        return None


_ARROW_STRINGS = _arrow_strings()


def _strings(values: list[Any]) -> Any:
    """``pd.array(values, dtype="string")``, built by pyarrow directly where that is the storage
    (a third of the cost; a column of Nones costs nothing): the same dtype and values."""
    if _ARROW_STRINGS is not None:
        import pyarrow as pa

        try:
            if all(v is None for v in values):
                arr = pa.nulls(len(values), _ARROW_STRINGS)
            else:
                arr = pa.array(values, type=_ARROW_STRINGS)
            return pd.arrays.ArrowStringArray(pa.chunked_array([arr], type=_ARROW_STRINGS))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # a value that is not a str: pandas words and converts it
    return pd.array(values, dtype="string")


def result_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A write's outcome rows as the typed ``WriteResult.records`` frame."""
    return outcome_frame([r.get("row") for r in rows], rows)


def outcome_frame(labels: list[Any], fates: list[dict[str, Any]]) -> pd.DataFrame:
    """The ``WriteResult.records`` frame of ``labels`` (the ``row`` column) and one fate per label
    (id, status, code, message, field, action, resolution), without a merged dict per row."""
    # Column by column: a frame of dicts then astype cost about twice as much at 2,000 rows.
    columns: dict[str, Any] = {"row": pd.Series(labels, dtype="object")}
    for name in list(RESULT_DTYPES)[1:]:
        columns[name] = _strings([f.get(name) for f in fates])
    # the index given: pandas otherwise unions the columns' indexes (a fifth of the build)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(labels)), copy=False)


__all__ = ["OutcomeTable", "WriteResult", "RESULT_DTYPES", "outcome_frame", "result_frame"]
