"""Pages, one module per menu area. ``register_views`` is the whole menu, in the manual's order."""
from __future__ import annotations

import importlib

# Each module has ``register(appbuilder)``; the order here is the order of the menu.
VIEW_MODULES = [
    "app.views.home",
    "app.views.account",
    "app.views.graduation",
    "app.views.exceptions",
    "app.views.exports",
    "app.views.approval_forms",
    "app.views.degree",
    "app.views.tasks",
    "app.views.records",
    "app.views.admin",
    "app.views.imports",
    "app.views.workers",
    "app.views.student_space",
    "app.views.api",
    "app.views.api_exceptions",
]


def register_views(appbuilder) -> None:
    for name in VIEW_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # an area not built yet
                continue
            raise
        module.register(appbuilder)
