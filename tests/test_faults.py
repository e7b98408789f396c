"""Every fault case ends in a valid result or its typed error, within budget, nothing invalid cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults import (
    CASES,
    INPUT_CASES,
    PROTOCOL_CASES,
    Case,
    InputCase,
    run_case,
    run_input_case,
    run_protocol_case,
)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_case(case: Case) -> None:
    r = run_case(case)
    assert r["outcome"] == case.expect, r
    assert r["cached_entries"] == (1 if case.expect == "ok" else 0), r
    assert r["seconds"] < min(15, case.total + 2), r  # within the request's deadline, retries included
    if case.expect == "RetriesExhaustedError" and case.total >= 10:
        assert r["requests"] == 4  # max_retries=3: one try and three retries
    if r["outcome"] == "ok":
        assert r["tokens"] >= 15 * (1 + sum(1 for s in case.script[:-1] if isinstance(s, str) and s.startswith("{")))


def test_fault_cases_leave_no_temporary_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a folder of its own: other runs may share /tmp
    run_case(CASES[0])
    run_input_case(INPUT_CASES[0])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", INPUT_CASES, ids=[c.name for c in INPUT_CASES])
def test_hostile_input_case(case: InputCase) -> None:
    r = run_input_case(case)
    assert r["exit"] == case.exit and not r["traceback"] and r["seconds"] < case.deadline, r


@pytest.mark.parametrize("name", list(PROTOCOL_CASES))
def test_protocol_case(name: str) -> None:
    r = run_protocol_case(name)
    assert r["pass"], r
