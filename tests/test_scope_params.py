"""A scope travels to a job as plain values and comes back the same — or as no students at all."""
from __future__ import annotations

import pytest

from app.security import NO_SCOPE, Scope


@pytest.mark.parametrize("scope", [Scope("all"), Scope("college", org_id=3), Scope("site", org_id=7),
                                   Scope("student", student_id=42), NO_SCOPE])
def test_a_scope_survives_the_trip_to_a_job(scope):
    """to_params → from_params is the identity for every kind of scope."""
    assert Scope.from_params(scope.to_params()) == scope


@pytest.mark.parametrize("raw", [None, "all", [], {"kind": "everyone"}, {"kind": "site", "org_id": "7"},
                                 {"kind": "site", "org_id": True}, {"kind": "site", "org_id": 1.5},
                                 {"kind": ["all"]}, {}])
def test_anything_malformed_is_no_students(raw):
    """Unknown kinds, ids that are not ints or a missing mapping never widen a job's scope: no students."""
    assert Scope.from_params(raw) == NO_SCOPE
