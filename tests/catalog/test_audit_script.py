"""tools/audit/run_audit.py: how `make audit` reads Lighthouse's reports and decides that a page fails."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "audit" / "run_audit.py"


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("run_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(**category_scores):
    return {"categories": {name.replace("_", "-"): {"score": score} for name, score in category_scores.items()}}


def test_scores_are_out_of_100_and_a_category_that_did_not_run_counts_zero(audit):
    report = _report(performance=0.951, accessibility=1, best_practices=0.94)
    assert audit.scores(report) == {"performance": 95, "accessibility": 100, "best-practices": 94, "seo": 0}
    assert audit.scores(_report(performance=None, accessibility=1, best_practices=1, seo=1))["performance"] == 0


def test_a_page_fails_when_any_category_is_below_the_bar(audit):
    page = {"performance": 95, "accessibility": 100, "best-practices": 94, "seo": 100}
    assert audit.below(page, 95) == ["best-practices"]
    assert audit.below(page, 94) == []


def test_median_of_runs_and_the_cpu_slowdown_for_a_slow_host(audit):
    runs = [{"performance": p, "accessibility": 100, "best-practices": 100, "seo": 100} for p in (80, 97, 96)]
    assert audit.median_scores(runs)["performance"] == 96
    assert [audit.cpu_slowdown(index) for index in (2000, 1500, 1200, 999, 150)] == [4.0, 4.0, 2.0, 1.0, 1.0]
