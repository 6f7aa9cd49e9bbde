"""Every script in benchmarks/ runs to its final JSON line in its ``--smoke`` mode, so a benchmark
that breaks fails the suite (issue 16). Numbers are not asserted: the full runs stay manual.

The scripts start together (each with its own emulator, and PostgreSQL where it needs one) and
are waited for one by one: most of their time is waiting on their servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py"))
HANG = 900  # seconds: a guard against a hung script, not a performance bound


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    out = tmp_path_factory.mktemp("benchmarks-smoke")
    procs = {}
    for name in SCRIPTS:
        # Files, not pipes: a script waited for later must not block on a full pipe meanwhile.
        stdout, stderr = out / f"{name}.out", out / f"{name}.err"
        with stdout.open("wb") as o, stderr.open("wb") as e:
            proc = subprocess.Popen([sys.executable, str(BENCHMARKS / name), "--smoke"], cwd=out, stdout=o, stderr=e)
        procs[name] = (proc, stdout)
    yield procs
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_script_is_covered():
    assert {"emulator_throughput.py", "faults.py", "read_accounts.py", "scale.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_smoke_mode_runs_to_its_json_line(runs, script):
    proc, stdout = runs[script]
    stderr = stdout.with_suffix(".err")
    try:
        proc.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{script} --smoke did not finish in {HANG} s:\n{stdout.read_text()[-3000:]}")
    output = stdout.read_text()
    assert proc.returncode == 0, (
        f"{script} --smoke exited {proc.returncode}:\n{output[-2000:]}\n{stderr.read_text()[-3000:]}"
    )
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, f"{script} --smoke printed nothing"
    try:
        last = json.loads(lines[-1])
    except ValueError:
        last = None
    assert isinstance(last, dict) and last, f"{script} --smoke: last line is not a JSON object: {lines[-1]!r}"
