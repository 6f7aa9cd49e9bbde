"""Where a read of changes below the first list page is cut into id ranges read at once."""

from __future__ import annotations

import numpy as np
import pytest

from sergas_nb._metrics import ServerClock
from sergas_nb._paging import IdRange
from sergas_nb.mirror.sync import MAX_PARTS, PART_ROWS, Options, change_ranges, listed_ids, since

IDS = np.arange(5_000_000, 5_100_000, dtype=np.int64)  # the copy: 100,000 ids


def _tiles(ranges: list[IdRange], below: int) -> None:
    """Highest first, each range's top the one before's bottom, the last open below."""
    assert ranges[0].hi == below
    assert ranges[-1].lo is None
    for upper, lower in zip(ranges, ranges[1:], strict=False):
        assert lower.hi == upper.lo


def _holding(ranges: list[IdRange], changed: np.ndarray) -> list[int]:
    return [int(((changed >= (r.lo or 0)) & (changed < r.hi)).sum()) for r in ranges]


def test_changes_clustered_below_the_page_fall_into_ranges_that_each_hold_them_in_one_call():
    changed = IDS[-1000:]  # the newest 1,000 records changed: the page holds the top 200
    below = int(changed[-200])
    ranges = change_ranges(IDS, [int(i) for i in changed[-200:]])
    _tiles(ranges, below)
    assert len(ranges) == MAX_PARTS
    held = _holding(ranges, changed[:-200])
    assert sum(held) == 800
    assert all(h < r.limit for h, r in zip(held, ranges, strict=True))  # no range needs a second call
    assert max(held) <= PART_ROWS  # spread over several ranges, not one
    assert ranges[0].limit == 200  # the nearest range is the cheapest (one credit)


def test_changes_spread_evenly_fall_into_equal_ranges_of_one_credit_each():
    changed = IDS[::100]  # 1% spread over every id
    page = changed[-200:]
    below = int(page[0])
    ranges = change_ranges(IDS, [int(i) for i in page])
    _tiles(ranges, below)
    held = _holding(ranges, changed[:-200])
    assert sum(held) == len(changed) - 200
    assert all(r.limit == 200 for r in ranges)
    assert all(h < 200 for h in held)
    assert 1 < len(ranges) <= MAX_PARTS


def test_a_block_of_changes_below_newer_unchanged_records_is_read_in_ranges_too():
    changed = IDS[-3000:-2000]  # a block of 1,000, with 2,000 newer records unchanged above it
    ranges = change_ranges(IDS, [int(i) for i in changed[-200:]])
    held = _holding(ranges, changed[:-200])
    assert sum(held) == 800
    assert all(h < r.limit for h, r in zip(held, ranges, strict=True))
    assert max(held) <= PART_ROWS


def test_a_few_changes_below_the_page_or_none_of_the_copy_below_it_are_one_range():
    spread = [int(i) for i in IDS[50::500]]  # 200 changes, one in 500, from id 50 up
    assert change_ranges(IDS, spread) == [IdRange(None, spread[0], 200)]
    assert change_ranges(IDS, [int(IDS[0]), int(IDS[1])]) == [IdRange(None, int(IDS[0]))]
    assert change_ranges(np.empty(0, np.int64), [7, 9]) == [IdRange(None, 7)]


def test_id_ranges_refuse_empty_spans_and_limits_coql_does_not_take():
    with pytest.raises(ValueError, match="empty id range"):
        IdRange(5, 5)
    with pytest.raises(ValueError, match="LIMIT"):
        IdRange(None, 5, 2001)


def test_only_a_page_that_says_it_is_id_descending_gives_its_ids():
    rows = [{"id": "30"}, {"id": "20"}, {"id": "10"}]
    assert listed_ids({"sort_by": "id", "sort_order": "desc"}, rows) == [30, 20, 10]
    assert listed_ids({"sort_by": "id", "sort_order": "asc"}, rows) is None
    assert listed_ids({"sort_by": "Modified_Time", "sort_order": "desc"}, rows) is None
    assert listed_ids({}, rows) is None
    assert listed_ids({"sort_by": "id", "sort_order": "desc"}, [{"id": "x1"}]) is None


def test_the_server_clock_keeps_the_earliest_date_and_ignores_what_is_not_one():
    clock = ServerClock()
    for header in ("Wed, 02 Dec 2026 21:23:05 GMT", None, "", "yesterday", "Wed, 02 Dec 2026 21:23:01 GMT"):
        clock.saw(header)
    assert clock.earliest is not None
    assert clock.earliest.isoformat() == "2026-12-02T21:23:01+00:00"


def test_the_watermark_moves_back_unless_the_last_read_began_surely_after_its_second():
    opts = Options()  # overlap 1 s, clock_skew 300 s
    wm = "2026-12-02T10:00:00+00:00"
    back = "2026-12-02T09:59:59+00:00"
    assert since(wm, "2026-12-02T10:00:03Z", opts) == back  # Zoho's clock, within overlap + margin
    assert since(wm, "2026-12-02T10:00:04Z", opts) == wm  # Zoho's clock, surely after
    assert since(wm, "2026-12-02T10:01:40+00:00", opts) == back  # this machine's: clock_skew applies
    assert since(wm, "2026-12-02T10:05:02+00:00", opts) == wm
    assert since(wm, None, opts) == back
