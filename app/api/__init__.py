"""REST API under /api/v1: the four lists and the workflow actions, with the pages' permissions and scope.

access (JWT, errors), read (the lists), schemas (request bodies), bulk (the one bulk rule), workflow (the
actions), openapi (the document's pieces), registration.

Authentication is JWT only. ``POST /api/v1/security/login`` with
``{"username": ..., "password": ..., "provider": "db"}`` returns an access token (the same lockout as the
login page: ``AppSecurityManager.auth_user_db``); send it as ``Authorization: Bearer <token>``.

No endpoint here accepts the browser's session cookie (``allow_browser_login = False`` on every class):
FAB's APIs are CSRF-exempt, so a cookie must never authorize a write, and the reads follow the same rule
so that there is one way in. An account that still has to change its initial password gets 403 until it
has done so on the web page (the ``before_request`` redirect in app/views/login.py lets /api/ through).

Permissions are FAB's: the class name is the view name and ``can_<permission_name>`` the permission
(see ROLE_PERMISSIONS). Students have none: their only pages are 学生空间, so every API answers them 403.
Scope is the pages' scope: ``StudentScopeFilter`` on the lists, ``task_scope_clause`` (任务中心) on tasks,
and the workflow endpoints call the same service functions as the page buttons, which refuse ids outside
the scope with 404 before anything is written. Errors are JSON ``{"message": "<中文>"}``.
"""
from __future__ import annotations

from app.api.registration import register

__all__ = ["register"]
