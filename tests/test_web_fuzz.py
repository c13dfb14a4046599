"""Property-based fuzzing of the web API from its own OpenAPI schema (schemathesis).

Schemathesis generates requests, valid and invalid, for every operation the schema lists; no
answer may be a 500, invalid requests must be refused, and every answer must match the schema
(status codes, content types, bodies). The network is a small untrained one (answers need not be
right here, only well formed); live training is replaced by a job that ends at once, so fuzzing
never starts a real run. The app answers to schemathesis's Host, ``testserver``, as it would to
a ``--host`` of that name.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from digitnet.data import load_embedded
from digitnet.network import Network
from digitnet.web import create_app

DATA = load_embedded(validation=0)
NET = Network([784, 16, 10], activation="relu", output="softmax", cost="cross-entropy", init="he")
APP = create_app(NET, None, DATA, load_data=lambda name: DATA, hosts=("testserver",))
APP.state.trainer.work = lambda job, data: None  # a training run that ends at once

schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_never_fails_with_a_server_error(case: schemathesis.Case) -> None:
    # Every check but one: a schema cannot say "a PNG of a digit", so a schema-valid request may
    # still be refused (415 not a PNG, 422 no ink); that refusal is checked by the other checks.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
