"""bench/dep_audit.py: OSV range matching on a tiny fake advisory set (no mirror), and the live mode
against a local index serving canned PyPI JSON (no internet)."""
from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from bench import dep_audit
from bench.dep_audit import Pin, audit, match, range_includes, read_pins


def adv(id_, name, *, events=None, versions=None, ecosystem="PyPI", **extra) -> dict:
    affected = {"package": {"name": name, "ecosystem": ecosystem}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return {"id": id_, "aliases": [f"CVE-{id_}"], "summary": f"summary of {id_}", "affected": [affected], **extra}


FAKE = [
    adv("A-1", "demo-pkg", events=[{"introduced": "0"}, {"fixed": "2.0"}]),
    adv("A-2", "Demo_Pkg", events=[{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.1"}]),
    adv("A-3", "demo-pkg", events=[{"introduced": "0"}, {"last_affected": "3.1"}]),
    adv("A-4", "demo-pkg", versions=["4.0", "4.1"]),
    adv("A-5", "other-pkg", events=[{"introduced": "0"}]),
    adv("A-6", "demo-pkg", events=[{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z"),
    adv("A-7", "demo-pkg", events=[{"introduced": "0"}], ecosystem="npm"),
]


def ids(version: str, name: str = "demo-pkg") -> list[str]:
    return [f.id for f in audit([Pin(name, version, f"{name}=={version}")], FAKE)]


@pytest.mark.parametrize("version, expected", [
    ("1.1", ["A-1", "A-2", "A-3"]),   # below 2.0; inside 1.0–1.2; below last_affected
    ("1.2", ["A-1", "A-3"]),          # 1.2 is A-2's first fix (exclusive)
    ("1.5", ["A-1", "A-3"]),          # between A-2's two ranges
    ("2.0", ["A-2", "A-3"]),          # A-1 fixed in 2.0; A-2's second range starts at 2.0 (inclusive)
    ("2.1", ["A-3"]),
    ("3.1", ["A-3"]),                 # last_affected is inclusive
    ("3.1.1", []),
    ("4.1", ["A-4"]),                 # explicit versions list
    ("4.1.0", ["A-4"]),               # same PEP 440 version as a listed one
    ("4.2", []),
    ("0.9", ["A-1", "A-3"]),          # below A-2's introduced
])
def test_ranges_last_affected_and_versions(version, expected):
    assert ids(version) == expected


def test_other_package_withdrawn_and_other_ecosystem_never_match():
    assert ids("1.0", "other-pkg") == ["A-5"]
    assert ids("1.0", "unrelated") == []
    assert "A-6" not in ids("1.0") and "A-7" not in ids("1.0")


def test_finding_names_the_fixing_version():
    found = {f.id: f for f in audit([Pin("demo-pkg", "2.0.5", "")], FAKE)}
    assert found["A-2"].fix == "2.1" and found["A-2"].fixed == ["1.2", "2.1"]
    assert found["A-2"].aliases == ["CVE-A-2"] and found["A-2"].summary == "summary of A-2"
    assert found["A-3"].fix is None  # last_affected only: no release fixes it
    git_fix = adv("G-1", "demo-pkg", events=[{"introduced": "0"}, {"fixed": "9.0"}])
    git_fix["affected"][0]["ranges"].append({"type": "GIT", "repo": "x", "events": [{"introduced": "0"},
                                                                                 {"fixed": "abc123"}]})
    assert match(Pin("demo-pkg", "1.0", ""), git_fix).fixed == ["9.0"]  # commit hashes are not versions


def test_range_events_in_any_order_and_unparseable_bounds():
    assert range_includes(Version("1.1"), [{"fixed": "1.2"}, {"introduced": "1.0"}]) is True
    assert range_includes(Version("1.1"), [{"introduced": "0"}, {"fixed": "not a version"}]) is None


def test_read_pins_takes_exact_pins_only():
    pins, skipped = read_pins([
        "# comment", "", "fakeredis[lua]==2.30.1", "Flask_AppBuilder==5.3.0  # via x",
        "pytz==2024.1 ; python_version >= '3'", "requests>=2.0", "-r other.txt", "    --hash=sha256:abc",
    ])
    assert [(p.name, p.version) for p in pins] == [("fakeredis", "2.30.1"), ("flask-appbuilder", "5.3.0"),
                                                   ("pytz", "2024.1")]
    assert skipped == ["requests>=2.0"]


def _write_db(root):
    for a in FAKE:
        folder = root / "vulns" / a["affected"][0]["package"]["name"].lower()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{a['id']}.yaml").write_text(yaml.safe_dump(a, allow_unicode=True), encoding="utf-8")


def test_command_line_on_a_checkout_and_on_a_git_dir(tmp_path, capsys):
    """Exit 1 and the finding's id, aliases and fix on a vulnerable pin; exit 0 on a clean one."""
    _write_db(tmp_path / "db")
    vulnerable, clean = tmp_path / "bad.lock", tmp_path / "good.lock"
    vulnerable.write_text("demo-pkg==1.1\nunrelated==1.0\n")
    clean.write_text("demo-pkg==3.2\n")
    assert dep_audit.main(["--advisory-repo", str(tmp_path / "db"), "-r", str(vulnerable)]) == 1
    out = capsys.readouterr().out
    assert "demo-pkg==1.1  A-1  (CVE-A-1)" in out and "summary of A-2" in out
    assert "fix: 2.0" in out and "fix: 1.2" in out
    assert "advisories published after it are not covered" in out
    assert dep_audit.main(["--advisory-repo", str(tmp_path / "db"), "-r", str(clean)]) == 0
    assert "no known vulnerabilities" in capsys.readouterr().out

    assert shutil.which("git"), "git is needed to read the advisory database"
    repo = tmp_path / "db"
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", "vulns")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "db")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, capture_output=True)
    assert dep_audit.main(["--advisory-repo", str(bare), "-r", str(vulnerable), "--json"]) == 1
    report = yaml.safe_load(capsys.readouterr().out)  # JSON is YAML
    assert [f["id"] for f in report["findings"]] == ["A-1", "A-2", "A-3"]
    assert report["database_date"][:4].isdigit()


def test_reads_the_projects_hashed_locks_runtime_and_dev():
    """The real locks (pip-compile with hashes): every package pinned once, dev tools only in the dev lock."""
    root = Path(__file__).resolve().parent.parent
    runtime, skipped = dep_audit.read_pin_files([root / "requirements.lock"])
    assert not skipped
    names = {p.name for p in runtime}
    assert {"flask-appbuilder", "xlsxwriter", "rq", "gunicorn"} <= names
    assert not names & {"pytest", "playwright", "schemathesis", "fakeredis", "hypothesis"}
    both, skipped = dep_audit.read_pin_files([root / "requirements.lock", root / "requirements-dev.lock"])
    assert not skipped
    assert {"pytest", "playwright", "schemathesis", "fakeredis", "hypothesis", "ruff", "mypy"} <= {p.name for p in both}
    assert len({p.name for p in both}) == len(both)  # the runtime pins the dev lock repeats are counted once


def test_several_requirement_files_on_the_command_line(tmp_path, capsys):
    _write_db(tmp_path / "db")
    runtime, dev = tmp_path / "requirements.lock", tmp_path / "requirements-dev.lock"
    runtime.write_text("unrelated==1.0 \\\n    --hash=sha256:00\n    # via x\n")
    dev.write_text("unrelated==1.0 \\\n    --hash=sha256:00\ndemo-pkg==1.1 \\\n    --hash=sha256:11\n")
    assert dep_audit.main(["--advisory-repo", str(tmp_path / "db"), "-r", str(runtime), "-r", str(dev)]) == 1
    assert "demo-pkg==1.1  A-1" in capsys.readouterr().out
    assert dep_audit.main(["--advisory-repo", str(tmp_path / "db"), "-r", str(runtime)]) == 0


def test_missing_database_is_an_error_not_a_clean_result(tmp_path, capsys):
    lock = tmp_path / "r.lock"
    lock.write_text("demo-pkg==1.0\n")
    (tmp_path / "empty").mkdir()
    assert dep_audit.main(["--advisory-repo", str(tmp_path / "empty"), "-r", str(lock)]) == 2


# --------------------------------------------------------------------------- --pypi: live data from a local index


class _Index(http.server.BaseHTTPRequestHandler):
    """``/<name>/json`` from ``projects`` (canned PyPI project JSON), 404 for any other package."""

    projects: dict = {}
    asked: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.asked.append(self.path)
        name = self.path.removesuffix("/json").rsplit("/", 1)[-1]
        if name == "broken":
            self.send_error(500)
            return
        if name not in self.projects:
            self.send_error(404)
            return
        body = json.dumps(self.projects[name]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _project(latest: str, *vulns: dict) -> dict:
    return {"info": {"name": "x", "version": latest}, "vulnerabilities": list(vulns)}


LIVE_VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001", "GHSA-xxxx"], "fixed_in": ["3.3"],
             "summary": "live summary of PYSEC-2099-1", "details": "long text", "withdrawn": None}
WITHDRAWN = {"id": "PYSEC-2099-2", "aliases": [], "fixed_in": [], "summary": "withdrawn one",
             "withdrawn": "2099-01-02T00:00:00Z"}


@pytest.fixture
def index():
    """A local PyPI-style JSON index on 127.0.0.1; the test fills ``projects``."""
    handler = type("Index", (_Index,), {"projects": {}, "asked": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/pypi"
    yield handler
    server.shutdown()
    server.server_close()
    thread.join()


def _live(tmp_path, index, lock_text, *extra):
    _write_db(tmp_path / "db")
    lock = tmp_path / "r.lock"
    lock.write_text(lock_text)
    return dep_audit.main(["--advisory-repo", str(tmp_path / "db"), "-r", str(lock), "--pypi",
                           "--pypi-url", index.url, *extra])


def test_live_advisory_for_a_pin_at_the_latest_release_is_a_finding(tmp_path, index, capsys):
    """Pin == latest: PyPI's vulnerabilities list is about our version; each one is reported, exit 1."""
    index.projects["demo-pkg"] = _project("3.2", LIVE_VULN, WITHDRAWN)
    assert _live(tmp_path, index, "demo-pkg==3.2\n") == 1  # 3.2 is clean in the offline snapshot
    out = capsys.readouterr().out
    assert "demo-pkg==3.2  PYSEC-2099-1  (CVE-2099-0001, GHSA-xxxx)" in out
    assert "fix: 3.3   fixed in: 3.3   source: PyPI, live" in out and "live summary of PYSEC-2099-1" in out
    assert "PYSEC-2099-2" not in out  # withdrawn
    assert "summary: 1 pins, 1 checked live, 1 findings live, 0 offline findings (advisory snapshot" in out
    assert index.asked == ["/pypi/demo-pkg/json"]


def test_clean_pin_at_the_latest_release_has_no_finding(tmp_path, index, capsys):
    index.projects["demo-pkg"] = _project("3.2", WITHDRAWN)
    assert _live(tmp_path, index, "demo-pkg==3.2\n") == 0
    out = capsys.readouterr().out
    assert "no live advisories for them" in out and "not checked live" not in out
    assert "summary: 1 pins, 1 checked live, 0 findings live, 0 offline findings" in out


def test_pin_below_the_latest_is_not_live_checked_and_says_why(tmp_path, index, capsys, monkeypatch):
    """The latest release's advisories say nothing about an older pin: no live finding, the reason from
    HELD_BACK (or that none is recorded), the offline snapshot still applies; a stale reason is pointed out."""
    monkeypatch.setattr(dep_audit, "HELD_BACK", {"held-pkg": "the framework needs held-pkg < 2",
                                                 "demo-pkg": "an old reason"})
    index.projects.update({"demo-pkg": _project("3.2"), "held-pkg": _project("2.0", LIVE_VULN),
                           "lagging-pkg": _project("5.0"), "other-pkg": _project("9.0")})
    lock = "demo-pkg==3.2\nHeld_Pkg==1.0\nlagging-pkg==4.0\nother-pkg==1.0\nprivate-pkg==1.0\n"
    assert _live(tmp_path, index, lock) == 1  # other-pkg==1.0 is in the offline snapshot
    out = capsys.readouterr().out
    assert "held-pkg==1.0: live data covers only 2.0; pinned below it because the framework needs held-pkg < 2" in out
    assert "lagging-pkg==4.0: live data covers only 5.0; pinned below it because no reason recorded in HELD_BACK" in out
    assert "private-pkg==1.0: not on the index" in out
    assert "PYSEC-2099-1" not in out  # the advisory of 2.0 is not reported against 1.0
    assert "other-pkg==1.0  A-5" in out
    assert "note: HELD_BACK gives a reason for demo-pkg, which is at its latest release now" in out
    assert "summary: 5 pins, 1 checked live, 0 findings live, 1 offline findings" in out
    assert "/pypi/held-pkg/json" in index.asked  # asked under its PEP 503 name

    assert _live(tmp_path, index, lock, "--json") == 1
    live = json.loads(capsys.readouterr().out)["live"]
    assert live["checked"] == 1 and live["findings"] == []
    assert {b["package"]: (b["latest"], b["reason"]) for b in live["not_live_checked"]}["held-pkg"] == \
        ("2.0", "the framework needs held-pkg < 2")


def test_unreachable_or_failing_index_is_an_error_not_a_clean_result(tmp_path, index, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/pypi"
    _write_db(tmp_path / "db")
    lock = tmp_path / "r.lock"
    lock.write_text("demo-pkg==3.2\n")
    args = ["--advisory-repo", str(tmp_path / "db"), "-r", str(lock), "--pypi", "--pypi-url"]
    assert dep_audit.main([*args, closed]) == 2
    captured = capsys.readouterr()
    assert "error: cannot ask the index for the live advisories" in captured.err and closed in captured.err
    assert captured.out == ""
    lock.write_text("demo-pkg==3.2\nbroken==1.0\n")
    index.projects["demo-pkg"] = _project("3.2")
    assert dep_audit.main([*args, index.url]) == 2
    assert "HTTP 500" in capsys.readouterr().err
