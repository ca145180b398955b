"""Chinese error pages and the mapping of DomainError to a message that changes nothing."""
from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request

from app.extensions import db
from app.services.errors import DomainError
from app.views.input_guard import HostileInput

TITLES = {400: "请求无效", 403: "没有权限访问此页面", 404: "页面不存在", 405: "不支持的请求方式",
          413: "上传的文件过大", 429: "请求过于频繁，请稍后再试", 500: "系统内部错误", 503: "服务暂不可用"}
CSRF_FAILED = "请求已过期或来源无效（CSRF 校验失败），请刷新页面后重试"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def back_url() -> str:
    ref = request.referrer or ""
    host = request.host_url
    return ref if ref.startswith(host) else "/"


def _ensure_user() -> None:
    """Errors raised before FAB's before_request (CSRF, 413) still render the navbar, which needs g.user."""
    from flask import g
    from flask_login import current_user

    if "user" not in g:
        g.user = current_user


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return jsonify(message=exc.message), exc.status
        flash(exc.message, "danger")
        return redirect(back_url())

    def page(code):
        def handle(exc):
            if code == 500:
                db.session.rollback()
            title = exc.description if isinstance(exc, HostileInput) else TITLES[code]
            if wants_json():
                return jsonify(message=title), code
            _ensure_user()
            return render_template("error.html", appbuilder=current_app.appbuilder, code=code, title=title), code

        return handle

    for code in TITLES:
        app.register_error_handler(code, page(code))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        if wants_json():
            return jsonify(message=CSRF_FAILED), 400
        _ensure_user()
        return render_template("error.html", appbuilder=current_app.appbuilder, code=400, title=CSRF_FAILED), 400
