"""Flask CLI commands: `flask sync-roles`, `flask seed-demo`."""
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
