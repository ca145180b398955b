"""Flask CLI commands: `flask sync-roles`, `flask bootstrap`, `flask seed-demo`.

FAB's own `flask fab create-admin` / `create-user` / `reset-password` would make accounts outside the product's
four roles and organisations (or change a password with no operation-log entry): ``AppSecurityManager`` refuses
them with a message naming the product's way.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


def sync_roles() -> None:
    """Create the four roles (their permissions come from FAB_ROLES in config)."""
    from flask_appbuilder.security.manager import BaseSecurityManager

    from app.extensions import db

    sm = current_app.appbuilder.sm
    BaseSecurityManager.create_db(sm)
    db.session.commit()


def register(app) -> None:
    @app.cli.command("bootstrap")
    @click.option("--school-code", required=True, help="学校代码 (5 digits; must equal SCHOOL_CODE)")
    @click.option("--org-name", default="继续教育学院", show_default=True, help="继续教育学院's name")
    @click.option("--admin-no", required=True, help="工号 of the first 继教院管理员 (the login name)")
    @click.option("--admin-name", required=True, help="姓名")
    @click.option("--mobile", required=True, help="手机号: the initial password is edu@<手机号>")
    @click.option("--add-admin", is_flag=True, help="add another 继教院管理员 when one exists already")
    @with_appcontext
    def bootstrap_command(school_code, org_name, admin_no, admin_name, mobile, add_admin):
        """Create the 继续教育学院 and its first 继教院管理员 on an empty production database."""
        from app.extensions import db
        from app.services.bootstrap import bootstrap
        from app.services.errors import DomainError

        sync_roles()
        try:
            result = bootstrap(school_code=school_code, org_name=org_name, admin_no=admin_no,
                               admin_name=admin_name, mobile=mobile, add_admin=add_admin)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        db.session.commit()
        if not result.created_org and not result.created_admin:
            click.echo(f"已初始化：{result.org.name}，继教院管理员 {result.admin.username}；未做任何修改")
            return
        if result.created_org:
            click.echo(f"已创建机构：{result.org.name}")
        click.echo(f"已创建继教院管理员 {result.admin.username}；初始密码为 edu@<手机号>，首次登录须修改密码")

    @app.cli.command("sync-roles")
    @with_appcontext
    def sync_roles_command():
        """Create the built-in roles after migrations."""
        sync_roles()
        click.echo("roles ok")

    @app.cli.command("seed-demo")
    @click.option("--students", default=2000, show_default=True)
    @click.option("--if-empty", is_flag=True, help="do nothing when the database already has data")
    @with_appcontext
    def seed_demo_command(students: int, if_empty: bool):
        """Load the demo organisations, accounts, plans, students and grades."""
        from app.demo import has_data, seed_demo

        if if_empty and has_data():
            click.echo("database already has data; demo not loaded")
            return
        from app.services.errors import DomainError

        sync_roles()
        try:
            counts = seed_demo(students=students)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"demo loaded: {counts}")
