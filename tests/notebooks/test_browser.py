"""The account explorer in a real JupyterLab, in headless Chromium: run all, filter, see it change.

Fixtures (JupyterLab server, Chromium page) are in tests/fixtures/browser.py. The notebook is the
committed one, copied into the server's root with papermill's parameter injection (fewer accounts,
so the kernel's own emulator seeds quickly); the kernel starts that emulator itself, as it does
for an analyst who opens the notebook with nothing configured.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import papermill
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from sergas_nb.lab.notebooks import NOTEBOOKS_DIR
from tests.fixtures.browser import LabServer

NOTEBOOK = NOTEBOOKS_DIR / "02_explore_accounts.ipynb"
pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 180_000  # kernel start + emulator + bulk read on a 2-core CI machine
UI_TIMEOUT_MS = 60_000
COUNT = ".sergas-explorer .sergas-count .sergas-count-value"


def prepare_notebook(root: Path, name: str = "explore.ipynb", **parameters: object) -> Path:
    """A copy of the explorer notebook with papermill's injected-parameters cell, unexecuted."""
    nb = papermill.iorw.load_notebook_node(str(NOTEBOOK))
    nb = papermill.parameterize.parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    target = root / name
    papermill.iorw.write_ipynb(nb, str(target))
    return target


def choose_offered_kernel(page) -> None:
    """Accept Lab's "Select Kernel" dialog (the notebook's own python3 preselected), as a user
    would: on a loaded machine Lab sometimes asks after the notebook showed idle, and the modal
    then takes every click. Any other dialog is a failure, reported with its text."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count() or not dialog.first.is_visible():
        return
    text = dialog.first.inner_text()
    if "Select Kernel" not in text:
        raise AssertionError(f"JupyterLab shows a dialog: {text!r}")
    dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.first.wait_for(state="detached", timeout=UI_TIMEOUT_MS)


def run_all_cells(page, lab: LabServer, notebook: Path) -> None:
    """Open the notebook and choose Run > Run All Cells, checking that execution really started."""
    page.goto(f"{lab.url}/lab/tree/{notebook.relative_to(lab.root).as_posix()}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=UI_TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=UI_TIMEOUT_MS)
    # Lab enables notebook commands for the *current* widget: click into the notebook first.
    choose_offered_kernel(page)
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    started = (
        "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]"
        ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"
    )
    for _attempt in range(3):
        choose_offered_kernel(page)
        try:
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click(timeout=15_000)
            page.locator(
                ".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")
            ).click(timeout=15_000)
            # A queued cell shows [*] at once, so no prompt change means the click did not take.
            page.wait_for_function(started, timeout=15_000)
            return
        except PlaywrightTimeoutError:  # a dialog took the click, or the menu did not open
            print("Run All Cells did not start; trying the menu again")
            page.keyboard.press("Escape")
    raise AssertionError("Run > Run All Cells did not start executing the notebook")


def shown_count(page) -> int:
    return int(page.locator(COUNT).get_attribute("data-count"))


def industry_cells(page) -> list[str]:
    return page.locator(".sergas-explorer .sergas-table td[data-col='Industry']").all_text_contents()


def summary_line(page) -> str:
    """Text of the JSON line the tagged `summary` cell printed (waits until the cell ran)."""
    out = page.locator(".jp-OutputArea-output", has_text='"notebook": "02_explore_accounts"')
    out.wait_for(state="attached", timeout=RUN_TIMEOUT_MS)
    return out.text_content()


def test_explorer_filters_in_jupyterlab(jupyter_lab: LabServer, chromium_page, tmp_path: Path) -> None:
    try:
        _drive_explorer(jupyter_lab, chromium_page, tmp_path)
    except Exception:
        # What the browser showed and what the server said, for a failure on CI.
        chromium_page.screenshot(path=str(tmp_path / "failure.png"))
        print(f"screenshot: {tmp_path / 'failure.png'}\nJupyterLab log tail:\n{jupyter_lab.log_tail()}")
        raise


def _drive_explorer(jupyter_lab: LabServer, page, tmp_path: Path) -> None:
    started = time.perf_counter()
    notebook = prepare_notebook(jupyter_lab.root, f"explore-{tmp_path.name}.ipynb", accounts=400, seed=7)

    run_all_cells(page, jupyter_lab, notebook)
    # Lab renders off-screen cells lazily: wait for the widget to exist, then bring it into view.
    page.wait_for_selector(COUNT, state="attached", timeout=RUN_TIMEOUT_MS)
    summary = summary_line(page)  # every cell ran (the summary cell is near the end)
    assert '"accounts": 400' in summary, summary

    page.locator(".sergas-explorer").scroll_into_view_if_needed()
    before = shown_count(page)
    assert before == 400
    rows_before = industry_cells(page)
    assert len(rows_before) == 25 and len(set(rows_before)) > 1  # first page, several industries

    # Pick an industry from the dropdown the user sees.
    select = page.locator(".sergas-explorer .sergas-filter-industry select")
    options = [o for o in select.locator("option").all_text_contents() if o != "All"]
    assert len(options) > 3
    choice = options[1]
    select.select_option(label=choice)
    page.wait_for_function(
        "([sel, before]) => { const el = document.querySelector(sel);"
        " return el !== null && Number(el.dataset.count) !== before; }",
        arg=[COUNT, before],
        timeout=UI_TIMEOUT_MS,
    )

    after = shown_count(page)
    assert 0 < after < before
    page.wait_for_function(  # the table re-renders in the same comm message, but be patient
        "([choice]) => { const cells = [...document.querySelectorAll(\".sergas-table td[data-col='Industry']\")];"
        " return cells.length > 0 && cells.every(c => c.textContent === choice); }",
        arg=[choice],
        timeout=UI_TIMEOUT_MS,
    )
    rows_after = industry_cells(page)
    assert set(rows_after) == {choice} and len(rows_after) == min(after, 25)
    assert page.locator(".sergas-table-caption").inner_text() == f"Showing {min(after, 25):,} of {after:,}"
    # The detail dropdown follows the filter too.
    assert page.locator(".sergas-explorer .sergas-detail-select select option").count() == after

    # The kernel's model saw the same change: ask it from a new cell.
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(
        "print('KERNEL-SAYS', len(explorer.filtered), sorted(explorer.filtered.Industry.astype(str).unique()))"
    )
    page.keyboard.press("Shift+Enter")
    kernel = page.locator(".jp-OutputArea-output", has_text="KERNEL-SAYS")
    kernel.wait_for(timeout=UI_TIMEOUT_MS)
    assert kernel.inner_text().strip() == f"KERNEL-SAYS {after} [{choice!r}]"

    _check_account_360(page)

    explorer = page.locator(".sergas-explorer")
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(tmp_path / "explorer.png"))
    page.screenshot(path=str(tmp_path / "jupyterlab.png"))
    elapsed = time.perf_counter() - started
    print(f"browser test: {elapsed:.1f} s in the page; screenshots in {tmp_path}")


PANEL_SNAPSHOT = """() => {
  const panel = document.querySelector('.sergas-account-360');
  const out = {account: panel.dataset.account};
  for (const s of ['contacts', 'deals', 'activities', 'notes']) {
    const title = panel.querySelector(`.sergas-related-title[data-section='${s}']`);
    out[s] = Number(title.dataset.count);
    out[s + '_rows'] = panel.querySelectorAll(`.sergas-related[data-section='${s}'] tbody tr`).length;
  }
  return out;
}"""


def _check_account_360(page) -> None:
    """Health columns sort the table; the detail tab shows an account's contacts, deals, activities
    and notes, the same the kernel holds."""
    explorer = page.locator(".sergas-explorer")
    explorer.scroll_into_view_if_needed()
    explorer.locator(".sergas-sort-column select").select_option("days_since_activity")
    page.wait_for_function(  # the table re-renders sorted: numbers ascending, accounts without any last
        "() => { const v = [...document.querySelectorAll(\".sergas-table td[data-col='days_since_activity']\")]"
        ".map(c => c.textContent).filter(t => t !== '—').map(t => Number(t.replace(/,/g, '')));"
        " return v.length > 1 && v.every((x, i) => i === 0 || v[i - 1] <= x); }",
        timeout=UI_TIMEOUT_MS,
    )
    cells = page.locator(".sergas-table td[data-col='days_since_activity']").all_text_contents()
    numbers = [float(c.replace(",", "")) for c in cells if c != "—"]
    assert numbers == sorted(numbers) and len(numbers) > 1, cells

    explorer.locator(".sergas-tabs .lm-TabBar-tab", has_text=re.compile(r"^Detail$")).click()
    select = explorer.locator(".sergas-detail-select select")
    select.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    page.wait_for_selector(".sergas-related-title[data-section='deals']", timeout=UI_TIMEOUT_MS)
    titles = page.locator(".sergas-related-title").evaluate_all("els => els.map(e => e.dataset.section)")
    assert titles == ["contacts", "deals", "activities", "notes"]
    options = select.locator("option").count()
    chosen, previous = None, None
    for index in range(min(options, 40)):  # open accounts until one has deals and activities around it
        select.select_option(index=index)
        # ipywidgets' <option> values are indices: wait until the panel shows the account whose id the
        # detail table shows, and that is not the one before.
        page.wait_for_function(
            "([prev]) => { const th = [...document.querySelectorAll('.sergas-detail th')]"
            ".find(t => t.textContent === 'id'); const panel = document.querySelector('.sergas-account-360');"
            " return th && panel && panel.dataset.account === th.nextElementSibling.textContent"
            " && panel.dataset.account !== prev; }",
            arg=[previous],
            timeout=UI_TIMEOUT_MS,
        )
        # One snapshot of the panel (its account, each section's count and rows), read in one go so
        # a later re-render cannot mix two accounts into what is compared.
        snap = page.evaluate(PANEL_SNAPSHOT)
        previous = snap["account"]
        if snap["deals"] and snap["activities"]:
            chosen = previous
            break
    assert chosen is not None, "no account among the first 40 has deals and activities"
    shown = {s: snap[s] for s in ("contacts", "deals", "activities", "notes")}
    assert snap["deals_rows"] == min(shown["deals"], 10)

    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(f"d = explorer.related('{chosen}'); print('KERNEL-360', {{k: len(v) for k, v in d.items()}})")
    page.keyboard.press("Shift+Enter")
    kernel = page.locator(".jp-OutputArea-output", has_text="KERNEL-360")
    kernel.wait_for(timeout=UI_TIMEOUT_MS)
    assert kernel.inner_text().strip() == f"KERNEL-360 {shown}"
