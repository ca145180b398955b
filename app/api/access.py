"""Who may call the API: JWT only, the initial-password rule, the Chinese error bodies, hostile query args."""
from __future__ import annotations

import json
import urllib.parse

import prison
from flask import g, jsonify, request
from flask_appbuilder.hooks import before_request
from flask_jwt_extended import get_current_user, verify_jwt_in_request

from app.ids import MAX_ID
from app.statuses import (
    TaskState,
)

MAX_PAGE_SIZE = 100
MAX_IDS = 10000
TASK_SUBMITTED = "任务已提交，可在任务中心查看进度"
OPEN_STATES = (TaskState.QUEUED.value, TaskState.RUNNING.value)
MUST_CHANGE_PASSWORD = "首次登录请先在网页上修改初始密码，之后才能使用接口"


def _has_huge_int(value, depth: int = 0) -> bool:
    """An integer outside 64 bits anywhere in a parsed ``q`` (no column holds one; drivers cannot bind it)."""
    if depth > 50:
        return False  # deeper nesting is FAB's to refuse
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return any(_has_huge_int(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_huge_int(v, depth + 1) for v in value)
    return False


class ApiAccessMixin:
    """JWT-only access with Chinese error bodies; refuses accounts that must change their password."""

    allow_browser_login = False

    @before_request
    def _api_account(self):
        """Runs before FAB's ``@protect``: make the token's account the request's user (and scope)."""
        bad_query = self._bad_query()
        if bad_query:
            return self.response_400(bad_query)
        verify_jwt_in_request(optional=True)  # a bad or expired token answers 401 here
        user = get_current_user()
        g.pop("_scope", None)  # current_scope() must be computed for the token's account
        if user is None:
            return None  # no token: @protect answers 401
        g.user = user
        if getattr(user, "must_change_password", False):
            return self.response(403, message=MUST_CHANGE_PASSWORD)
        return None

    @staticmethod
    def _bad_query() -> str | None:
        """``q`` on which FAB would answer 500: answer 400 instead.

        prison crashes on some inputs ("(((", "(page:"); the database refuses an OFFSET below 0 or past
        64 bits (a ``page`` out of range), and SQLite cannot even bind an integer beyond 64 bits.
        """
        raw = request.args.get("q")
        if not raw:
            return None
        try:
            args = prison.loads(raw)
        except prison.decoder.ParserException:
            try:  # FAB's JSON fallback, parsed as FAB parses it
                args = json.loads(urllib.parse.parse_qs(f"q={raw}").get("q", [""])[0])
            except Exception:  # noqa: BLE001  (FAB answers 400 itself)
                return None
        except Exception:  # noqa: BLE001  (RecursionError, TypeError inside prison)
            return "q 不是有效的 Rison 参数"
        if _has_huge_int(args):
            return "q 中的数值超出范围"
        page = args.get("page") if isinstance(args, dict) else None
        if isinstance(page, int) and not isinstance(page, bool) and not 0 <= page <= MAX_ID:
            return f"page 应为 0 到 {MAX_ID} 之间的整数"
        return None

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        """OpenAPI: these endpoints accept the JWT only (FAB also lists its API-key scheme, which is off).

        Every one of them answers 403 to an account without the permission (students) or that must
        still change its password, so 403 is documented on each, not only on the workflow endpoints.
        """
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for operation in operations.values():
            if "security" in operation:
                operation["security"] = [{"jwt": []}]
                responses = operation.setdefault("responses", {})
                if 403 not in responses and "403" not in responses:  # YAML docstrings give int keys
                    responses[403] = {"$ref": "#/components/responses/403"}

    def response_400(self, message=None):
        text = "请求参数无效" + (f"：{message}" if message else "")
        return self.response(400, message=text)

    def response_401(self):
        return self.response(401, message="请先登录（需要有效的访问令牌）")

    def response_403(self):
        return self.response(403, message="没有权限进行此操作")

    def response_404(self):
        return self.response(404, message="记录不存在或不在您的管理范围内")

    def response_422(self, message=None):
        return self.response(422, message="请求内容无法处理")

    def response_500(self, message=None):
        return self.response(500, message="系统内部错误")


def json_error(message: str, status: int = 401):
    return jsonify(message=message), status
