"""Alertmanager's API v2 as its OpenAPI spec describes it, fuzzed with schemathesis.

Every operation of the spec, valid and invalid requests, against a daemon on 127.0.0.1:
no 5xx, only documented status codes, the documented content type, bodies in the
documented shape, and not one error or traceback in the daemon's log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ThreadedDaemon, problems_logged

SPEC = Path(__file__).resolve().parents[1] / "data" / "alertmanager-openapi-v2.yaml"
EXAMPLES = 30  # per operation: enough to reach every branch of the parsers, still quick
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# The spec, loaded once; requests go to the daemon's port, known only once it runs.
schema = schemathesis.openapi.from_path(SPEC, config=SchemathesisConfig.from_dict({
    "seed": 20_261_115,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
}))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_alertmanager_api_follows_its_spec(case: Any, threaded: ThreadedDaemon,
                                           caplog: pytest.LogCaptureFixture) -> None:
    case.call_and_validate(base_url=threaded.url + "/api/v2", checks=CHECKS)
    assert problems_logged(caplog) == []
