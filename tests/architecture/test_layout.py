"""The house stays "one of each": no import circle in app/, no module grows past ~500 lines, every task kind
has exactly one handler.

The import graph is read from the source (every ``import`` statement, also those inside functions: a lazy
import is still a dependency), so a circle fails here before it can fail at import time in a worker.
"""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAX_LINES = 500
# Modules allowed over MAX_LINES (declarative configuration only), with the size they may not grow past.
# Since the services were split by command (issue "One of each") there is none; add one only for configuration.
OVERSIZED: dict[str, int] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(APP.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in APP.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an import names (``from app.services import tasks`` → app.services.tasks)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                if not target.startswith("app"):
                    continue
                resolved = _resolve(target, modules)
                if resolved and resolved != name and not name.startswith(resolved + "."):
                    graph[name].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_app():
    """No two modules of app/ import each other, directly or through others (lazy imports included)."""
    assert _cycles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    """The check above would see one: a → b → c → a."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_services_and_rules_never_import_jobs_or_views():
    """Layers: views, the REST API and jobs call services, services call rules; never the other way round."""
    graph = import_graph()
    upward = {(m, t) for m, targets in graph.items() for t in targets
              if m.startswith(("app.services", "app.audit")) and t.startswith(("app.jobs", "app.views", "app.api"))}
    assert upward == set()


def test_rules_are_pure():
    """app/audit knows nothing of Flask, SQLAlchemy sessions or requests."""
    for path in (APP / "audit").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "flask" not in imported and "flask_appbuilder" not in imported, path


def test_no_module_grows_past_the_limit():
    """No module in app/ over ~500 lines; the few that still are may only shrink."""
    too_long = {}
    for path in APP.rglob("*.py"):
        rel = str(path.relative_to(APP.parent))
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > OVERSIZED.get(rel, MAX_LINES):
            too_long[rel] = lines
    assert too_long == {}


def test_every_task_kind_has_one_handler(app):
    """Each TaskKind is carried out by exactly one registered function, and the fanned-out kinds the task
    center knows of are exactly the registry's."""
    from app.jobs.registry import FANOUTS, HANDLERS
    from app.services.tasks import FANNED_OUT_KINDS, TASK_KINDS
    from app.statuses import TaskKind

    kinds = {k.value for k in TaskKind}
    assert set(HANDLERS) | set(FANOUTS) == kinds == set(TASK_KINDS)
    assert not set(HANDLERS) & set(FANOUTS)
    assert set(FANOUTS) == FANNED_OUT_KINDS


HTTP_NAMES = {"abort", "send_file", "redirect", "flash", "request", "session", "g", "url_for", "jsonify",
              "make_response", "render_template"}


def test_services_speak_in_domain_errors_not_http():
    """A service raises DomainError/NotFound and returns data; only views answer HTTP (abort, send_file …)."""
    offenders = set()
    for path in (APP / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask", "werkzeug.exceptions"):
                offenders |= {(path.name, a.name) for a in node.names if a.name in HTTP_NAMES or node.module != "flask"}
    assert offenders == set()


def test_test_modules_have_unique_names():
    """tests/ has no __init__.py files (pytest's rootdir imports): two test modules of one name in different
    folders stop the whole run at collection ("import file mismatch")."""
    names = Counter(p.name for p in (APP.parent / "tests").rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []
