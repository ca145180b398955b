"""The benchmark script keeps working: a small run on a temporary SQLite file prints its table."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_small_benchmark_run_prints_the_table(tmp_path):
    """`bench/run.py --students 1000` builds the cohort, runs every job and prints one table with the ratios."""
    env = dict(os.environ, BENCH_OUT=str(tmp_path / "out"), INSTANCE_DIR=str(tmp_path / "instance"), APP_MODE="demo")
    for name in ("DATABASE_URL", "BENCH_DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    redis_url = os.environ.get("TEST_REDIS_URL")  # CI: the fanned-out line runs on real rq workers too
    workers = ["--workers", "2", "--redis-url", redis_url] if redis_url else ["--workers", "0"]
    env["FANOUT_CHUNK_SIZE"] = "300"  # 4 chunks for the 2 workers to share
    out = subprocess.run(
        [sys.executable, "bench/run.py", "--students", "1000", "--skip-http", "--naive", "50", "--archive", "20",
         "--database-url", f"sqlite:///{tmp_path}/bench.db", *workers],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "database: sqlite" in text
    assert "| measure" in text
    for measure in ("同步课程数据", "毕业审核 (job, 1 process)", "floor: one SQL statement", "naive ORM loop",
                    "学位条件审核 (job)", "学位申请信息汇总表 export", "毕业生档案 export"):
        assert measure in text, measure
    assert "audit 预毕业" in text and "same)" in text  # the floor and the audit agree on who passes
    assert "毕业审核 (1 process) ÷ floor:" in text and "naive ÷ 毕业审核 per student:" in text
    if redis_url:
        assert "毕业审核 (job, 2 rq workers)" in text and "same results" in text
