"""Which function carries out each kind of task: one explicit table, read by ``app.jobs.runner``.

A handler is ``fn(task, progress) -> summary``. A fanned-out kind names how to resolve its ids once
(``items``), the chunk handler ``chunk(task, ids, progress) -> summary`` (it flushes; the runner commits a
chunk with its 成功), and how the summed chunk summaries become the task's (``finish``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.models.task import Task
from app.services import approval_forms, degree, exports, graduation, imports
from app.services.tasks import Progress
from app.statuses import TaskKind

Handler = Callable[[Task, Progress], "dict | None"]
ChunkFn = Callable[[Task, list[int], Progress], dict]
DEFAULT_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class FanOut:
    """How a kind splits: ``items`` resolves the task's ids once, ``chunk`` handles a slice (flush
    only; it may call ``progress``), ``finish`` turns the summed chunk summaries into the task's."""

    items: Callable[[Task], Sequence[int]]
    chunk: ChunkFn
    finish: Callable[[Task, dict], dict] | None = None
    size: int = DEFAULT_CHUNK_SIZE


def count_to(task: Task, progress: Progress) -> dict:
    """演示任务, used by the queue tests: counts to ``params['n']``, ``params['pause']`` seconds per step."""
    n = int(task.params.get("n", 3))
    pause = float(task.params.get("pause", 0))
    progress(0, n)
    for i in range(1, n + 1):
        if pause:
            time.sleep(pause)
        progress(i)
    return {"计数": n}


HANDLERS: dict[str, Handler] = {
    TaskKind.GRADUATION_PUBLISH.value: graduation.run_publish,
    TaskKind.DEGREE_PUBLISH.value: degree.run_publish,
    TaskKind.ARCHIVE_EXPORT.value: exports.run_archive_export,
    TaskKind.DEGREE_SUMMARY_EXPORT.value: exports.run_degree_summary_export,
    TaskKind.DEGREE_APPROVAL_EXPORT.value: approval_forms.run_approval_export,
    TaskKind.LIST_EXPORT.value: exports.run_list_export,
    TaskKind.IMPORT.value: imports.run_import,
    TaskKind.DEMO.value: count_to,
}

FANOUTS: dict[str, FanOut] = {
    TaskKind.GRADUATION_AUDIT.value: FanOut(items=graduation.task_student_ids, chunk=graduation.run_audit,
                                            finish=graduation.audit_finished),
    TaskKind.GRADUATION_SYNC.value: FanOut(items=graduation.task_student_ids, chunk=graduation.run_sync,
                                           finish=graduation.sync_finished),
    TaskKind.DEGREE_AUDIT.value: FanOut(items=degree.audit_application_ids, chunk=degree.run_audit,
                                        finish=degree.audit_finished),
}
