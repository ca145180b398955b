"""bench/fair_share.py keeps working: its scenario at tiny scale (300 students, a burst of 5 archive exports)
on a temporary SQLite file with two real `rq worker` processes on TEST_REDIS_URL.

Needs TEST_REDIS_URL (real workers): skipped without it on a laptop, failed when CI_REQUIRE_SERVICES=1 (CI sets
both). Times are not asserted (they depend on the machine); who was refused and the queue's order are.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
NEEDS = "needs TEST_REDIS_URL for real rq workers"
pytestmark = pytest.mark.skipif(not REDIS_URL and not os.environ.get("CI_REQUIRE_SERVICES"), reason=NEEDS)

BURST = 5


def test_tiny_fair_share_run_refuses_the_burst_beyond_the_share_and_serves_the_other_site(tmp_path):
    """alone / share / unlimited / running / running_only: B's export always succeeds; with the share A gets 3
    of its 5 exports and the Chinese refusal for the others, and B starts after only those 3; without it A gets
    all 5 and B queues behind them (FIFO). The running share (workers) keeps the refusals of its limit."""
    if not REDIS_URL:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but this module {NEEDS}")
    env = dict(os.environ, BENCH_OUT=str(tmp_path / "out"), INSTANCE_DIR=str(tmp_path / "instance"), APP_MODE="demo")
    for name in ("DATABASE_URL", "BENCH_DATABASE_URL", "REDIS_URL", "BENCH_REDIS_URL"):
        env.pop(name, None)
    cmd = [sys.executable, "bench/fair_share.py", "--students", "300", "--burst", str(BURST),
           "--database-url", f"sqlite:///{tmp_path}/fair.db", "--redis-url", REDIS_URL, "--timeout", "300",
           "--json", str(tmp_path / "fair.json")]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    figures = json.loads((tmp_path / "fair.json").read_text())
    modes = {m["mode"]: m for m in figures["modes"]}
    assert list(modes) == ["alone", "share", "unlimited", "running", "running_only"]
    for m in modes.values():
        assert m["b_state"] == "succeeded", m
        assert m["b_rows"] > 0 and m["b_wait_seconds"] >= 0 and m["b_end_to_end_seconds"] > 0
    assert modes["alone"]["a_accepted"] == 0
    share, unlimited = modes["share"], modes["unlimited"]
    assert (share["limit"], share["a_accepted"], share["a_refused"]) == (3, 3, BURST - 3)
    assert share["a_refusal"] == ("本单位已有 3 个任务在排队或执行中（每个单位最多同时 3 个），"
                                  "请在任务中心等待其中一个完成后再提交")
    assert share["a_students_each"] == figures["site_a_students"] > 0
    assert (unlimited["limit"], unlimited["a_accepted"], unlimited["a_refused"]) == ("none", BURST, 0)
    # FIFO: B is taken after every A export queued before it (two workers may take the last A and B together)
    assert share["a_started_before_b"] >= 3 - 1 and unlimited["a_started_before_b"] >= BURST - 1
    assert "| share | 3 | off | 3 / 2 |" in out.stdout and "| unlimited | none | off | 5 / 0 |" in out.stdout
    # the running share on top: the same refusals with the limit, none without it; B always served
    running, running_only = modes["running"], modes["running_only"]
    assert (running["limit"], running["a_accepted"], running["a_refused"], running["running_share"]) == (3, 3, 2, True)
    assert (running_only["limit"], running_only["a_accepted"], running_only["running_share"]) == ("none", BURST, True)
    assert (share["running_share"], unlimited["running_share"]) == (False, False)
    assert "| running | 3 | on | 3 / 2 |" in out.stdout and "| running_only | none | on | 5 / 0 |" in out.stdout
