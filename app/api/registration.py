"""Adding the APIs to the app and giving the JWT layer Chinese answers."""
from __future__ import annotations

from app.api.access import json_error
from app.api.exceptions import CourseExceptionApi, CourseExceptionWorkflowApi
from app.api.read import DegreeApplicationApi, GraduationResultApi, StudentApi, TaskApi
from app.api.workflow import DegreeWorkflowApi, GraduationWorkflowApi


def register(appbuilder) -> None:
    """Add the APIs and give the JWT layer Chinese answers (missing, invalid, expired token)."""
    for api in (StudentApi, GraduationResultApi, DegreeApplicationApi, TaskApi, CourseExceptionApi,
                GraduationWorkflowApi, DegreeWorkflowApi, CourseExceptionWorkflowApi):
        appbuilder.add_api(api)
    jwt = appbuilder.sm.jwt_manager
    jwt.unauthorized_loader(lambda _reason: json_error("请先登录（需要有效的访问令牌）"))
    jwt.invalid_token_loader(lambda _reason: json_error("访问令牌无效，请重新登录"))
    jwt.expired_token_loader(lambda _header, _data: json_error("访问令牌已过期，请重新登录"))
    jwt.user_lookup_error_loader(lambda _header, _data: json_error("账号不存在或已停用"))
    jwt.revoked_token_loader(
        lambda _header, _data: json_error("访问令牌已失效（密码已修改、已重置或账号已停用），请重新登录"))
