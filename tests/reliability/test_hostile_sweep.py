"""Hostile input is normal input: every route, every method, hostile values in every parameter — never a 500.

The routes come from ``app.url_map`` (a route added later is swept too). Each is requested as the CE admin
(the widest scope reaches the most code) with NUL and other control characters, overlong text, numbers past
INTEGER and non-ASCII digits in the query string (the names every list, filter and FAB view reads, and FAB's
own ``_flt_/_oc_/_od_/page_/psize_`` arguments of the view) and in the posted form or JSON. Control
characters are refused centrally (``app.views.input_guard``) with a Chinese 400 that changes nothing;
everything else may be refused or ignored, never a 500.
"""
from __future__ import annotations

import re

import pytest

from tests.reliability.conftest import changed_tables, fingerprint
from tests.reliability.test_route_matrix import ALLOWED, api_token, build_url

NUL = "a\x00b"
VALUES = {
    "nul": NUL,
    "control": "\x1b[31m\x07",
    "overlong": "长" * 100 + "x" * 900,  # 1,000 characters: past every 500-character limit
    "huge": "99999999999999999999",
    "arabic_digit": "٣",
}
# query and form names the pages, filters and actions read (plus FAB's per-view ones added per rule)
NAMES = ["q", "page", "psize", "per_page", "site_id", "major_id", "college_id", "enrol_grade", "study_grade",
         "level", "result", "grade", "batch_id", "student_id", "ids", "rowid", "action", "stage", "published",
         "confirm_state", "state", "kind", "documents", "reason", "comment", "opinion", "override_result",
         "override_reason", "review_opinion", "review_comment", "list", "back", "next", "username", "password",
         "login_type", "old_password", "new_password", "confirm_password", "self_assessment", "name", "code",
         "date_from", "date_to", "actor_name", "student_no", "status"]


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "appbuilder.static", "LoginView.logout", "LocaleView.index"):
            continue
        yield rule


def _view_names(app, rule) -> list[str]:
    """FAB's own argument names for the rule's view: filters on every column, sort, page, page size."""
    name = rule.endpoint.rpartition(".")[0]
    for view in app.appbuilder.baseviews:
        if getattr(view, "endpoint", None) == name and hasattr(view, "datamodel"):
            cls = type(view).__name__
            table = getattr(view.datamodel.obj, "__table__", None)
            columns = list(table.columns.keys()) if table is not None else []
            return ([f"_flt_0_{c}" for c in columns] + [f"_oc_{cls}", f"_od_{cls}", f"page_{cls}", f"psize_{cls}"])
    return []


def _urls(rule, hostile) -> str:
    try:
        return build_url(rule, hostile)
    except AssertionError:  # a parameter the matrix cannot fill: any id does for this sweep
        return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)


@pytest.fixture()
def ce(app, ce_client):
    return ce_client, app.test_client(), api_token(app, "jjy001")


def _send(app, ce, rule, url, kind, value):
    client, raw, bearer = ce
    methods = rule.methods - {"HEAD", "OPTIONS"}
    names = NAMES + _view_names(app, rule)
    results = []
    if "GET" in methods:
        query = {n: value for n in names}
        if url.startswith("/api/"):
            with app.app_context():
                results.append(("GET", raw.get(url, query_string=query, headers=bearer)))
        else:
            results.append(("GET", client.get(url, query_string=query)))
    for method in sorted(methods - {"GET"}):
        if url.startswith("/api/"):
            body = {n: value for n in ("ids", "reason", "comment", "opinion", "result", "username", "password")}
            body["ids"] = [value]
            with app.app_context():
                results.append((method, raw.open(url, method=method, json=body, headers=bearer)))
        else:
            form = {n: value for n in names}
            sent = client.post(url, data=form) if method == "POST" else client.client.open(url, method=method)
            results.append((method, sent))
    return results


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_no_route_answers_500_to_hostile_values(app, hostile, ce, kind):
    """Every route and method, the hostile value in every parameter: never a 500; control characters get the
    central Chinese 400 and change nothing."""
    value = VALUES[kind]
    problems = []
    before = fingerprint()
    for rule in _rules(app):
        url = _urls(rule, hostile)
        for method, resp in _send(app, ce, rule, url, kind, value):
            if resp.status_code >= 500:
                problems.append(f"{method} {rule.rule} -> {resp.status_code}")
            elif kind in ("nul", "control") and rule.endpoint not in ALLOWED and resp.status_code != 400:
                problems.append(f"{method} {rule.rule} -> {resp.status_code} (control characters must be refused)")
    if kind in ("nul", "control"):
        assert changed_tables(before, fingerprint()) == []
    assert not problems, "\n".join(problems)


