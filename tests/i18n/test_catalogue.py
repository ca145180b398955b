"""The English catalogue keeps up with the sentences the code builds: every msgid the Python code passes to
gettext (or to app.i18n.word, or to run_command as a success text) has an English msgstr with the same named
placeholders, and no msgid appears twice. Labels and keys inserted through ``word``/``label_text`` at run time
are not literals; the view tests in English (tests/views/test_english_messages.py) check those.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
CATALOGUES = {lang: APP / "translations" / lang / "LC_MESSAGES" / "messages.po" for lang in ("en", "zh")}
TRANSLATING = {"gettext", "lazy_gettext", "_l", "word"}
SUCCESS_TEXT = {"run_command": 1, "submit_task": 1}  # function → position of its success text
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _entries(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of a .po file in order, continuation lines joined (header left out)."""
    entries, current, field = [], {"msgid": None, "msgstr": None}, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:  # entries are separated by blank lines
            if current["msgid"]:
                entries.append((current["msgid"], current["msgstr"] or ""))
            current, field = {"msgid": None, "msgstr": None}, None
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgid|msgstr) (".*")$', line)
        if match:
            field = match.group(1)
            current[field] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and field:
            current[field] += ast.literal_eval(line)
    return entries


def _msgids_in_code() -> dict[str, str]:
    """Literal msgids (or module-level string constants) the app passes to gettext and friends → file."""
    found: dict[str, str] = {}
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {n.targets[0].id: n.value.value for n in tree.body
                     if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                     and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            position = 0 if name in TRANSLATING else SUCCESS_TEXT.get(name)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                text = arg.value
            elif isinstance(arg, ast.Name) and arg.id in constants:
                text = constants[arg.id]
            else:
                continue
            found.setdefault(text, str(path.relative_to(ROOT)))
    return found


def test_no_msgid_twice():
    """Each catalogue names a msgid once (a second entry would silently win or lose)."""
    for lang, path in CATALOGUES.items():
        ids = [msgid for msgid, _ in _entries(path)]
        doubles = sorted({i for i in ids if ids.count(i) > 1})
        assert doubles == [], (lang, doubles)


def test_every_msgid_of_the_code_has_english():
    """A sentence built in Python with gettext has an English translation; a new one cannot be forgotten."""
    english = dict(_entries(CATALOGUES["en"]))
    missing = {text: where for text, where in _msgids_in_code().items()
               if not english.get(text) and re.search(r"[\u4e00-\u9fff]", text)}
    assert missing == {}


def test_english_keeps_the_placeholders():
    """Every named placeholder of a msgid is in its English msgstr and the msgstr adds none."""
    wrong = {msgid: msgstr for msgid, msgstr in _entries(CATALOGUES["en"])
             if msgstr and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr))}
    assert wrong == {}


def test_the_checks_see_what_they_check():
    """The extraction finds the sentences of this change (why-not, confirm refusal, summary), so the checks
    above are not vacuous."""
    found = _msgids_in_code()
    for text in ("你的毕业审核结果为%(result)s，暂不能申请学位。",
                 "%(batch)s不在确认毕业时间内（%(window)s），未确认 %(count)s 名",
                 "%(counts)s；其中 %(n)s 名保留手工修改结果",
                 "导出任务已提交，可在任务中心查看和下载"):
        assert text in found, text
    assert len(_entries(CATALOGUES["en"])) > 400
