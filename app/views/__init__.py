"""Pages, one module per menu area. ``register_views`` is the whole menu, in the manual's order (then the
REST API, app/api)."""
from __future__ import annotations

import importlib

# Each module has ``register(appbuilder)``; the order here is the order of the menu.
VIEW_MODULES = [
    "app.views.home",
    "app.views.account",
    "app.views.graduation",
    "app.views.exceptions",
    "app.views.exports",
    "app.views.degree",
    "app.views.tasks",
    "app.views.records",
    "app.views.admin",
    "app.views.imports",
    "app.views.workers",
    "app.views.student_space",
    "app.api",
]


def register_views(appbuilder) -> None:
    for name in VIEW_MODULES:
        importlib.import_module(name).register(appbuilder)
