"""Dependency audit against a local copy of the PyPA advisory database (OSV YAML), and optionally PyPI's live data.

    .venv/bin/python bench/dep_audit.py --advisory-repo <advisory-database git dir> -r requirements.lock
    .venv/bin/python bench/dep_audit.py --pypi --advisory-repo ... -r requirements.lock -r requirements-dev.lock

``-r`` may be given more than once (runtime and development locks, as `make audit-deps` does); a pin
listed in several files is checked once. The locks are pip-compile output with hashes.

pip-audit needs an advisory service this machine cannot reach; the PyPA database
(github.com/pypa/advisory-database) is the source both PyPI and OSV publish from, so a snapshot of it
answers the same question offline. ``--advisory-repo`` is a git directory (bare or not; read at HEAD,
or at ``--rev``) or a plain checkout with a ``vulns/`` folder.

For every ``name==version`` pin, every advisory whose ``affected`` entry names the package (PyPI,
PEP 503 normalised) and whose ECOSYSTEM ranges (``introduced`` / ``fixed`` / ``last_affected``, evaluated
as in the OSV spec) or explicit ``versions`` list include the pinned version is reported with its id,
aliases, the fixed version(s) and the summary. Withdrawn advisories are ignored. Advisories published
after the snapshot's date are not known to it: the date is printed with the result.

``--pypi`` adds today's advisories. PyPI's per-version JSON (what pip-audit reads) is not served here,
but the project JSON (``<url>/<name>/json``) is, and its ``vulnerabilities`` list is PyPI's current
advisory data for the latest release. So a pin at the latest release is checked live; a pin below it
is only covered by the snapshot, and the report says why it is held back (``HELD_BACK``).

Exit status: 0 nothing found, 1 findings (offline or live), 2 usage, database or network error.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

try:  # the C loader is ~10x faster on the ~3,000 files of the database
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader


# --------------------------------------------------------------------------- pins


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    line: str


def read_pins(lines: Iterable[str]) -> tuple[list[Pin], list[str]]:
    """``name==version`` pins of a requirements file, and the lines that are not exact pins (warnings)."""
    pins, skipped = [], []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        line = line.split("\\", 1)[0].strip()  # hash continuation lines of pip-compile
        try:
            req = Requirement(line)
        except InvalidRequirement:
            skipped.append(raw.strip())
            continue
        exact = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if len(exact) != 1:
            skipped.append(raw.strip())
            continue
        pins.append(Pin(canonicalize_name(req.name), exact[0].version, raw.strip()))
    return pins, skipped


def read_pin_files(paths: Iterable[Path]) -> tuple[list[Pin], list[str]]:
    """The pins of several requirements files (runtime and dev locks overlap): each name==version once."""
    pins: dict[tuple[str, str], Pin] = {}
    skipped: list[str] = []
    for path in paths:
        found, rest = read_pins(path.read_text(encoding="utf-8").splitlines())
        for pin in found:
            pins.setdefault((pin.name, pin.version), pin)
        skipped += [line for line in rest if line not in skipped]
    return list(pins.values()), skipped


# --------------------------------------------------------------------------- matching (OSV semantics)


def _version(text: str) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def range_includes(version: Version, events: list[Mapping]) -> bool | None:
    """Whether an ECOSYSTEM range's events include ``version`` (None when an event is not a PEP 440 version).

    OSV: walk the events in version order (``introduced: 0`` is the lowest); an ``introduced`` at or
    below the version turns it on, a ``fixed`` at or below it turns it off, a ``last_affected``
    strictly below it turns it off.
    """
    parsed = []
    for event in events:
        if not isinstance(event, Mapping) or len(event) != 1:
            continue
        kind, value = next(iter(event.items()))
        if kind not in ("introduced", "fixed", "last_affected"):
            continue  # ``limit`` only bounds git ranges
        bound = _version(value)
        if bound is None:
            return None
        parsed.append((bound, kind))
    included = False
    for bound, kind in sorted(parsed, key=lambda p: p[0]):  # stable: file order on equal versions
        if kind == "introduced" and version >= bound:
            included = True
        elif kind == "fixed" and version >= bound:
            included = False
        elif kind == "last_affected" and version > bound:
            included = False
    return included


@dataclass
class Finding:
    pin: Pin
    id: str
    aliases: list[str]
    summary: str
    fixed: list[str] = field(default_factory=list)  # every fixed version the advisory names for the package
    via: str = "range"  # "range" or "versions"
    published: str = ""

    @property
    def fix(self) -> str | None:
        """The lowest fixed version above the pin: the upgrade that closes this advisory."""
        pinned = _version(self.pin.version)
        if pinned is None:
            return None
        later = sorted(v for v in map(_version, self.fixed) if v is not None and v > pinned)
        return str(later[0]) if later else None

    def as_dict(self) -> dict:
        return {"package": self.pin.name, "version": self.pin.version, "id": self.id, "aliases": self.aliases,
                "fix": self.fix, "fixed": self.fixed, "summary": self.summary, "matched_by": self.via,
                "published": self.published}


def _when(value) -> str:
    """``published`` as text (PyYAML turns unquoted timestamps into datetimes)."""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _summary(adv: Mapping) -> str:
    text = adv.get("summary") or (adv.get("details") or "").strip()
    text = " ".join(str(text).split())
    return text if len(text) <= 200 else text[:197] + "..."


def match(pin: Pin, adv: Mapping) -> Finding | None:
    """A Finding when ``adv`` affects the pinned version, else None."""
    if adv.get("withdrawn"):
        return None
    version = _version(pin.version)
    hit, via, fixed = False, "", []
    for affected in adv.get("affected") or []:
        package = affected.get("package") or {}
        if str(package.get("ecosystem", "")).lower() != "pypi":
            continue
        if canonicalize_name(str(package.get("name", ""))) != pin.name:
            continue
        for rng in affected.get("ranges") or []:
            if rng.get("type") != "ECOSYSTEM":
                continue  # GIT ranges speak in commits, not releases
            events = rng.get("events") or []
            fixed += [str(e["fixed"]) for e in events if isinstance(e, Mapping) and "fixed" in e]
            if version is None or hit:
                continue
            if range_includes(version, events):
                hit, via = True, "range"
        if not hit:
            listed = [str(v) for v in affected.get("versions") or []]
            if pin.version in listed or (version is not None and any(_version(v) == version for v in listed)):
                hit, via = True, "versions"
    if not hit:
        return None
    fixed = sorted(set(fixed), key=lambda f: (_version(f) is None, _version(f) or f))
    return Finding(pin=pin, id=str(adv.get("id", "?")), aliases=[str(a) for a in adv.get("aliases") or []],
                   summary=_summary(adv), fixed=fixed, via=via, published=_when(adv.get("published")))


def audit(pins: list[Pin], advisories: Iterable[Mapping]) -> list[Finding]:
    """Every (pin, advisory) pair where the advisory affects the pinned version, ordered by package and id."""
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    findings = []
    for adv in advisories:
        names = {canonicalize_name(str((a.get("package") or {}).get("name", ""))) for a in adv.get("affected") or []}
        for name in names & by_name.keys():
            for pin in by_name[name]:
                found = match(pin, adv)
                if found is not None:
                    findings.append(found)
    return sorted(findings, key=lambda f: (f.pin.name, f.id))


# --------------------------------------------------------------------------- reading the database


@dataclass
class Database:
    """The advisory files of a git directory (at a revision) or of a checkout."""

    path: Path
    rev: str = "HEAD"

    @property
    def is_checkout(self) -> bool:
        return (self.path / "vulns").is_dir()

    def _git(self, *args: str, data: bytes | None = None) -> bytes:
        git_dir = self.path / ".git" if (self.path / ".git").exists() else self.path
        return subprocess.run(["git", "--git-dir", str(git_dir), *args], input=data, capture_output=True,
                              check=True).stdout

    def date(self) -> str:
        """Commit date of the snapshot (ISO), or '' for a checkout without git metadata."""
        try:
            return self._git("log", "-1", "--format=%cI", self.rev).decode().strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return ""

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of every ``vulns/<package>/*.yaml``: all of them, since the package an advisory
        is about is the one named inside it, not the folder it sits in."""
        if self.is_checkout:
            for directory in sorted((self.path / "vulns").iterdir()):
                if directory.is_dir():
                    for f in sorted(directory.glob("*.yaml")):
                        yield str(f.relative_to(self.path)), f.read_bytes()
            return
        listing = self._git("ls-tree", "-r", "--full-tree", self.rev, "vulns").decode().splitlines()
        blobs = []
        for row in listing:
            meta, path = row.split("\t", 1)
            if meta.split()[1] == "blob" and path.endswith(".yaml"):
                blobs.append((path, meta.split()[2]))
        if not blobs:
            return
        out = self._git("cat-file", "--batch", data="".join(f"{sha}\n" for _p, sha in blobs).encode())
        pos = 0
        for path, _sha in blobs:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            yield path, out[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1

    def advisories(self) -> Iterator[dict]:
        for path, raw in self.files():
            try:
                adv = yaml.load(raw, Loader=_Loader)
            except yaml.YAMLError as exc:
                print(f"warning: {path}: not valid YAML ({exc.__class__.__name__}), skipped", file=sys.stderr)
                continue
            if isinstance(adv, dict):
                adv.setdefault("_path", path)
                yield adv


# --------------------------------------------------------------------------- live: PyPI, latest releases only

PYPI_URL = "https://pypi.org/pypi"

# Why a pin stays below PyPI's latest release: the live check cannot cover it, and the report says why.
# The one place these reasons are kept; an entry for a pin that has caught up is reported as stale.
HELD_BACK = {
    "deprecated": "3.x needs Python >= 3.12 and we run 3.11 (pulled in by limits)",
    "jsonschema-rs": "schemathesis 4.32.5, its latest release, requires jsonschema-rs < 0.61",
    "marshmallow": "Flask-AppBuilder 5.3.0 fails at start-up with marshmallow 4 (KeyError on foreign-key "
                   "columns in its API schemas; FAB issues #2361, #2425)",
    "marshmallow-sqlalchemy": "1.6 requires marshmallow >= 4 (see marshmallow)",
    "python-dateutil": "Flask-AppBuilder 5.3.0 requires python-dateutil < 3",
    "sqlalchemy": "2.1 makes psycopg 3 the driver of postgresql:// URLs, and the app is built on psycopg2 "
                  "(execute_values and COPY in app/services/facts.py)",
}


class LiveError(Exception):
    """The index could not be asked: the live check has no answer (exit 2), never a clean one."""


@dataclass
class Behind:
    """A pin the live data does not cover: below (or otherwise not) the latest release, or not on the index."""

    pin: Pin
    latest: str | None  # None: the index does not know the package
    reason: str


def fetch_project(base_url: str, name: str, timeout: float = 30) -> dict | None:
    """The project JSON of ``name`` (None when the index answers 404); LiveError when it cannot be asked."""
    url = f"{base_url.rstrip('/')}/{name}/json"
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "dep_audit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise LiveError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, DNS, timeout, not JSON
        raise LiveError(f"{url}: {getattr(exc, 'reason', exc)}") from exc


def live_findings(pin: Pin, project: Mapping) -> list[Finding]:
    """PyPI's current advisories for the pin, which must be the project's latest release."""
    found = []
    for vuln in project.get("vulnerabilities") or []:
        if vuln.get("withdrawn"):
            continue
        found.append(Finding(pin=pin, id=str(vuln.get("id", "?")), aliases=[str(a) for a in vuln.get("aliases") or []],
                             summary=_summary(vuln), fixed=[str(v) for v in vuln.get("fixed_in") or []], via="pypi"))
    return found


def live_check(pins: list[Pin], base_url: str = PYPI_URL, held_back: Mapping[str, str] | None = None,
               workers: int = 8) -> tuple[list[Finding], list[Behind], int]:
    """(live findings, pins the live data does not cover, how many pins were checked live)."""
    held_back = HELD_BACK if held_back is None else held_back
    with ThreadPoolExecutor(max_workers=workers) as pool:
        projects = list(pool.map(lambda p: fetch_project(base_url, p.name), pins))
    findings, behind, checked = [], [], 0
    for pin, project in zip(pins, projects, strict=True):
        if project is None:
            behind.append(Behind(pin, None, "not on the index"))
            continue
        latest = str((project.get("info") or {}).get("version", ""))
        if _version(latest) is not None and _version(latest) == _version(pin.version):
            checked += 1
            findings += live_findings(pin, project)
        else:
            behind.append(Behind(pin, latest, held_back.get(pin.name, "no reason recorded in HELD_BACK")))
    return sorted(findings, key=lambda f: (f.pin.name, f.id)), behind, checked


def stale_reasons(behind: list[Behind], pins: list[Pin], held_back: Mapping[str, str] | None = None) -> list[str]:
    """HELD_BACK entries for pinned packages that are at the latest release now."""
    held_back = HELD_BACK if held_back is None else held_back
    lagging = {b.pin.name for b in behind}
    return sorted(name for name in held_back if name in {p.name for p in pins} and name not in lagging)


# --------------------------------------------------------------------------- command line


def coverage(pins: list[Pin], advisories: list[Mapping]) -> list[str]:
    """Per pinned package with advisories: how many, and the highest fixed version any of them names."""
    rows = []
    for pin in sorted(pins, key=lambda p: p.name):
        fixes, count = [], 0
        for adv in advisories:
            mine = [a for a in adv.get("affected") or []
                    if canonicalize_name(str((a.get("package") or {}).get("name", ""))) == pin.name]
            if mine and not adv.get("withdrawn"):
                count += 1
                fixes += [_version(e["fixed"]) for a in mine for r in a.get("ranges") or []
                          if r.get("type") == "ECOSYSTEM" for e in r.get("events") or [] if "fixed" in e]
        if count:
            top = max((f for f in fixes if f is not None), default=None)
            rows.append(f"  {pin.name}=={pin.version}: {count} {'advisory' if count == 1 else 'advisories'}, "
                        f"highest fixed version {top or '-'}")
    return rows


def report(findings: list[Finding], pins: list[Pin], skipped: list[str], date: str,
           covered: list[str] | None = None) -> str:
    lines = [f"advisory database: PyPA advisory-database, snapshot {date or 'of unknown date'} — "
             "advisories published after it are not covered",
             f"pinned packages checked: {len(pins)}"]
    lines += [f"warning: not an exact pin, not checked: {s}" for s in skipped]
    if covered:
        lines += ["packages with advisories in the database:", *covered]
    if not findings:
        lines.append("no known vulnerabilities in the pinned versions")
        return "\n".join(lines)
    verb = "advisory affects" if len(findings) == 1 else "advisories affect"
    lines.append(f"{len(findings)} {verb} pinned versions:")
    for f in findings:
        lines += _finding_lines(f)
    return "\n".join(lines)


def _finding_lines(f: Finding) -> list[str]:
    where = f"matched by: {f.via}   published: {f.published}" if f.via != "pypi" else "source: PyPI, live"
    return [f"- {f.pin.name}=={f.pin.version}  {f.id}  ({', '.join(f.aliases) or 'no aliases'})",
            f"    fix: {f.fix or 'no fixed version above the pin'}   fixed in: {', '.join(f.fixed) or '-'}   {where}",
            f"    {f.summary}"]


def live_report(findings: list[Finding], behind: list[Behind], checked: int, stale: list[str], url: str) -> str:
    lines = [f"live: PyPI's current advisories ({url}) for the {checked} pins at their latest release"]
    if findings:
        verb = "advisory affects" if len(findings) == 1 else "advisories affect"
        lines.append(f"{len(findings)} live {verb} pinned versions:")
        for f in findings:
            lines += _finding_lines(f)
    else:
        lines.append("no live advisories for them")
    if behind:
        lines.append(f"not checked live ({len(behind)}; the snapshot above covers them):")
    for b in behind:
        if b.latest is None:
            lines.append(f"- {b.pin.name}=={b.pin.version}: {b.reason}")
            continue
        pinned, latest = _version(b.pin.version), _version(b.latest)
        relation = "below" if pinned is not None and latest is not None and pinned < latest else "off"
        lines.append(f"- {b.pin.name}=={b.pin.version}: live data covers only {b.latest}; "
                     f"pinned {relation} it because {b.reason}")
    lines += [f"note: HELD_BACK gives a reason for {name}, which is at its latest release now: drop it"
              for name in stale]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--advisory-repo", required=True, type=Path,
                        help="git directory or checkout of github.com/pypa/advisory-database")
    parser.add_argument("-r", "--requirement", required=True, type=Path, action="append",
                        help="requirements file with == pins (repeatable)")
    parser.add_argument("--rev", default="HEAD", help="revision of a git directory (default HEAD)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list every pinned package the database has advisories for")
    parser.add_argument("--pypi", action="store_true",
                        help="also check the pins at their latest release against PyPI's live advisories")
    parser.add_argument("--pypi-url", default=PYPI_URL, help=f"JSON API base for --pypi (default {PYPI_URL})")
    args = parser.parse_args(argv)
    try:
        pins, skipped = read_pin_files(args.requirement)
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    db = Database(args.advisory_repo, args.rev)
    try:
        advisories = list(db.advisories())
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"error: cannot read the advisory database at {args.advisory_repo}: {exc} "
              f"{detail.decode(errors='replace').strip()}", file=sys.stderr)
        return 2
    if not advisories:
        print(f"error: no advisories found under {args.advisory_repo} (not the PyPA advisory database?)",
              file=sys.stderr)
        return 2
    findings = audit(pins, advisories)
    live, behind, checked = [], [], 0
    if args.pypi:
        try:
            live, behind, checked = live_check(pins, args.pypi_url)
        except LiveError as exc:
            print(f"error: cannot ask the index for the live advisories: {exc}", file=sys.stderr)
            return 2
    date = db.date()
    if args.json:
        out = {"database_date": date, "findings": [f.as_dict() for f in findings], "not_checked": skipped}
        if args.pypi:
            out["live"] = {"url": args.pypi_url, "checked": checked, "findings": [f.as_dict() for f in live],
                           "not_live_checked": [{"package": b.pin.name, "version": b.pin.version,
                                                 "latest": b.latest, "reason": b.reason} for b in behind]}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        covered = coverage(pins, advisories) if args.verbose else None
        print(report(findings, pins, skipped, date, covered))
        if args.pypi:
            print(live_report(live, behind, checked, stale_reasons(behind, pins), args.pypi_url))
            print(f"summary: {len(pins)} pins, {checked} checked live, {len(live)} findings live, "
                  f"{len(findings)} offline findings (advisory snapshot {date or 'of unknown date'})")
    return 1 if findings or live else 0


if __name__ == "__main__":
    sys.exit(main())
