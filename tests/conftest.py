"""Suite-wide settings: in CI (NNOPT_REQUIRE_SANDBOX=1) a missing sandbox fails instead of skipping."""

import os

import pytest

_SANDBOX_SKIP = "bubblewrap is not usable here"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("NNOPT_REQUIRE_SANDBOX") == "1" and _SANDBOX_SKIP in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"{report.longrepr}\nNNOPT_REQUIRE_SANDBOX=1: grading tests must not skip for lack of a sandbox"
