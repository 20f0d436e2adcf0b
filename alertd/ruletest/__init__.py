"""Rule unit tests in the spirit of `promtool test rules`: `alertd test FILE...`.

A YAML test file names rule files, gives input series in promtool's value notation and
stubbed answers for prom() queries, and says which alerts must be firing (with which labels
and annotations) at which times, or what an expression must return.
"""

from __future__ import annotations

from alertd.ruletest.load import load_test_file, parse_test_file
from alertd.ruletest.notation import NotationError, expand
from alertd.ruletest.runner import PromStub, run_test_file, run_test_files
from alertd.ruletest.spec import RuleTestFile, TestFileError

__all__ = [
    "NotationError",
    "PromStub",
    "RuleTestFile",
    "TestFileError",
    "expand",
    "load_test_file",
    "parse_test_file",
    "run_test_file",
    "run_test_files",
]
