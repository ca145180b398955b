"""Fuzzing the REST API with schemathesis: the app's own OpenAPI document, one JWT per role, in-process (WSGI).

For the CE admin and the three scoped roles (site admin jxd001, college admin xy001, student 2020010001) every
operation in /api/v1/_openapi is called with generated valid (positive) and invalid (negative) inputs, the
state-changing ones included. Checks on every response: no 5xx, and for a scoped role no body names the other
organisation's student (``hostile``: 李四, 2020020001). On our own endpoints also: the status code, content type
and body are the documented ones, invalid input is refused with a 4xx, and a missing or bad token gets 401.
FAB's own endpoints (login, refresh, menu, the document itself) document their answers loosely, so there only
5xx and leaks count.

Generation is derandomized, so CI replays the same inputs and a failure reproduces; ``FUZZ_EXAMPLES=100``
digs deeper locally. Each role gets a fresh world and no check depends on the order of the calls.
"""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks
from sqlalchemy import select

from app.extensions import db
from app.models import Account, DegreeApplication, DegreeBatch
from app.services import tasks
from tests import factories
from tests.reliability.conftest import OTHER_NAME, OTHER_NO, hostile  # noqa: F401  (the fixture)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per operation and mode; 6 keeps the module near 60 s
OURS = ("students", "graduation-results", "degree-applications", "tasks", "graduation", "degree")
STRICT = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.negative_data_rejection, checks.ignored_auth]
LOOSE = [checks.not_a_server_error]
LISTS = ("/api/v1/students/", "/api/v1/graduation-results/", "/api/v1/degree-applications/", "/api/v1/tasks/")


@pytest.fixture()
def own_rows(world, hostile):  # noqa: F811  (the fixture imported above)
    """Rows of site1 / college1 beside the hostile ones, so that the scoped lists are not empty."""
    factories.graduation_result(world.student1)
    batch = db.session.scalar(select(DegreeBatch))
    db.session.add(DegreeApplication(batch_id=batch.id, student_id=world.student1.id, result="unaudited"))
    for username in ("jxd001", "xy001"):
        actor = db.session.scalar(select(Account).where(Account.username == username))
        task = tasks.create_task("demo", actor=actor, params={}, scope_text=f"范围-{username}")
        task.state = "succeeded"
    db.session.commit()


def names_other_org(text: str) -> bool:
    """The other organisation's student number or name, in the raw body or in its decoded JSON."""
    try:
        text += json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        pass
    return OTHER_NO in text or OTHER_NAME in text


def fuzz(app, doc: dict, headers: dict, scoped: bool) -> tuple[list[str], Counter]:
    """Every operation, positive and negative; returns the problems found and the statuses per operation."""
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url="http://localhost")
    schema.app = app
    problems: list[str] = []
    statuses: Counter = Counter()
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(app, op, mode, headers, scoped, problems, statuses)
    return problems, statuses


def fuzz_operation(app, op, mode, headers: dict, scoped: bool, problems: list[str], statuses: Counter) -> None:
    """One operation in one generation mode: what goes wrong is appended to ``problems``."""
    ours = op.path.split("/")[3] in OURS

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=op.as_strategy(generation_mode=mode))
    def call(case):
        with app.app_context():  # the request's own context, apart from the test's session
            try:
                resp = case.call(headers=headers)
            except Exception as exc:  # noqa: BLE001  (TESTING propagates what would be a 500)
                problems.append(f"{mode.value} {op.label}: {type(exc).__name__}: {exc}"[:1500]
                                + f"\n{case.as_curl_command()}"[:1500])
                return
            statuses[(op.label, resp.status_code)] += 1
            try:
                case.validate_response(resp, checks=STRICT if ours else LOOSE, headers=headers,
                                       transport_kwargs={"headers": headers})
            except (AssertionError, BaseExceptionGroup) as exc:
                problems.append(f"{mode.value} {op.label}: {exc}"[:2000])
        if scoped and names_other_org(resp.text):
            problems.append(f"LEAK {mode.value} {op.label}: {case.as_curl_command()}\n{resp.text[:500]}")

    call()


@pytest.mark.parametrize("username", ["jjy001", "jxd001", "xy001", "2020010001"])
def test_api_survives_fuzzing_for_each_role(app, api, hostile, own_rows, username):  # noqa: F811
    """No 5xx, answers as documented, and no other organisation's student in any answer, for every role."""
    doc = api("jjy001").get("/api/v1/_openapi").get_json()
    problems, statuses = fuzz(app, doc, api(username).headers, scoped=username != "jjy001")
    assert not problems, f"{len(problems)} problems:\n\n" + "\n\n".join(dict.fromkeys(problems))

    ours = {(label, code): n for (label, code), n in statuses.items() if label.split("/")[3] in OURS}
    documented = {f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops
                  if path.split("/")[3] in OURS}
    assert {label for label, _ in ours} == documented and len(documented) == 14  # 8 reads, 6 workflow POSTs
    if username == "2020010001":  # students have no API at all
        assert not [key for key in ours if 200 <= key[1] < 300]
    else:  # the generated queries reach the data: each list answered 200 at least once
        for path in LISTS:
            assert statuses[(f"GET {path}", 200)], (path, sorted(statuses.items()))
