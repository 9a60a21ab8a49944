"""`make test` ends by saying how many browser tests it skipped and why."""

from __future__ import annotations

import pytest

from tests.conftest import browser_skip_summary


def _skipped(nodeid: str, reason: str) -> pytest.TestReport:
    return pytest.TestReport(nodeid, ("x.py", 1, "t"), {}, "skipped", ("x.py", 1, f"Skipped: {reason}"), "call")


def test_the_last_line_counts_skipped_browser_tests_with_their_reason() -> None:
    reports = [_skipped(f"tests/test_pages_browser.py::test_{i}", "no Chromium at /usr/bin/chromium")
               for i in range(3)]
    reports.append(_skipped("tests/test_other.py::test_x", "something else"))
    assert browser_skip_summary(reports) == "browser tests: 3 skipped, because no Chromium at /usr/bin/chromium"
    reports.append(_skipped("tests/test_pages_browser.py::test_y", "playwright is not installed"))
    assert browser_skip_summary(reports) == ("browser tests: 4 skipped, because no Chromium at /usr/bin/chromium (3); "
                                             "playwright is not installed (1)")
    assert browser_skip_summary(reports[3:4]) is None
