"""The OpenAPI document (/api/v1/_openapi) validates and documents the API; Swagger UI loads."""
from __future__ import annotations

ENDPOINTS = {
    "/api/v1/students/": "get",
    "/api/v1/students/{pk}": "get",
    "/api/v1/graduation-results/": "get",
    "/api/v1/graduation-results/{pk}": "get",
    "/api/v1/degree-applications/": "get",
    "/api/v1/degree-applications/{pk}": "get",
    "/api/v1/tasks/": "get",
    "/api/v1/tasks/{pk}": "get",
    "/api/v1/graduation/audit": "post",
    "/api/v1/graduation/confirm": "post",
    "/api/v1/graduation/override": "post",
    "/api/v1/degree/audit": "post",
    "/api/v1/degree/review": "post",
    "/api/v1/degree/final": "post",
    "/api/v1/course-exceptions/": "get",
    "/api/v1/course-exceptions/{pk}": "get",
    "/api/v1/course-exception/create": "post",
    "/api/v1/course-exception/approve": "post",
    "/api/v1/course-exception/reject": "post",
    "/api/v1/security/login": "post",
}


def document(api) -> dict:
    resp = api("jxd001").get("/api/v1/_openapi")
    assert resp.status_code == 200
    return resp.get_json()


def test_openapi_document_validates(world, api):
    """The generated document is a valid OpenAPI 3 document (openapi-spec-validator)."""
    from openapi_spec_validator import validate  # test-only dependency, pinned in requirements.lock

    validate(document(api))


def test_openapi_lists_every_endpoint_and_nothing_unrouted(world, api):
    """Every read and workflow endpoint is documented, with its method; no generic PUT/DELETE or _info."""
    doc = document(api)
    for path, method in ENDPOINTS.items():
        assert method in doc["paths"].get(path, {}), path
    ours = {p: ops for p, ops in doc["paths"].items()
            if p.split("/")[3] in {"students", "graduation-results", "degree-applications", "tasks",
                                   "course-exceptions"}}
    assert all(set(ops) == {"get"} for ops in ours.values())
    assert not any(p.endswith("/_info") for p in doc["paths"])
    assert not any(name.endswith((".post", ".put")) for name in doc["components"]["schemas"])


def test_openapi_documents_bodies_and_jwt(world, api):
    """Workflow endpoints document their JSON body (with allowed values) and require the JWT scheme."""
    doc = document(api)
    op = doc["paths"]["/api/v1/graduation/override"]["post"]
    assert op["security"] == [{"jwt": []}]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(body["required"]) == {"ids", "result", "reason"}
    assert body["properties"]["result"]["enum"] == ["pre_graduate", "failed"]
    assert body["additionalProperties"] is False
    assert doc["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"


def test_openapi_needs_permission(world, api):
    """Students cannot fetch the document; without a token it is 401."""
    assert api("2020010001").get("/api/v1/_openapi").status_code == 403
    client = api("jxd001")
    with client.app.app_context():
        assert client.client.get("/api/v1/_openapi").status_code == 401


def test_swagger_ui_loads_for_logged_in_admin(world, site_client, college_client, ce_client):
    """Swagger UI (/swagger/v1) opens for each admin and points at the local bundle and document."""
    for client in (site_client, college_client, ce_client):
        resp = client.get("/swagger/v1")
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        assert "swagger-ui-bundle.js" in page and "/api/v1/_openapi" in page
    assert site_client.get("/static/appbuilder/js/swagger-ui-bundle.js").status_code == 200


def test_swagger_ui_is_not_for_students(world, student_client):
    """A student has no API and no Swagger UI page."""
    assert student_client.get("/swagger/v1").status_code == 403
