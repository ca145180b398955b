"""Worker liveness for the CE admin (issue 17): how many ``rq worker`` processes listen to the job queue and
when each last reported. Tasks only say a worker died after the fact; this shows it before anyone waits."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app

from app.clock import to_local
from app.extensions import redis_connection

QUEUE_DOWN = "队列未连接"
IN_PROCESS = "演示模式：任务在网站进程内执行（没有独立的 rq worker）"
NO_WORKER = "没有 rq worker 在监听队列，提交的任务不会被执行，请启动 rq worker"
STALE_AFTER = dt.timedelta(seconds=120)  # RQ reports every ~60 s while idle (worker_ttl 420 s)
STATES = {"idle": "空闲", "busy": "执行任务中", "started": "启动中", "suspended": "已暂停"}


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    host: str
    pid: int | None
    state: str           # Chinese
    last_seen: dt.datetime | None  # Asia/Shanghai, naive
    seconds_ago: int | None
    stale: bool          # silent for longer than STALE_AFTER: probably gone


@dataclass
class Liveness:
    mode: str                       # JOBS_MODE: rq / thread / inline
    queue: str
    connected: bool = True
    message: str = ""
    workers: list[WorkerInfo] = field(default_factory=list)
    queued: int | None = None       # jobs waiting in the queue

    @property
    def listening(self) -> int:
        return sum(1 for w in self.workers if not w.stale)


def worker_liveness(now: dt.datetime | None = None) -> Liveness:
    """The workers registered on ``RQ_QUEUE`` with their last heartbeat; never raises for a dead Redis."""
    cfg = current_app.config
    result = Liveness(mode=cfg["JOBS_MODE"], queue=cfg["RQ_QUEUE"])
    if result.mode != "rq":
        result.message = IN_PROCESS
        return result
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        conn = redis_connection()
        queue = Queue(result.queue, connection=conn)
        workers = Worker.all(queue=queue)
        result.queued = queue.count
        for w in workers:
            result.workers.append(_info(w, now))
    except (RedisError, OSError):
        current_app.logger.warning("worker liveness: redis unreachable", exc_info=True)
        return Liveness(mode=result.mode, queue=result.queue, connected=False, message=QUEUE_DOWN)
    result.workers.sort(key=lambda w: w.name)
    if not result.listening:
        result.message = NO_WORKER
    return result


def _info(worker, now: dt.datetime) -> WorkerInfo:
    beat = worker.last_heartbeat  # naive UTC in RQ 2/3
    if beat is not None and beat.tzinfo is not None:
        beat = beat.astimezone(dt.UTC).replace(tzinfo=None)
    ago = int((now - beat).total_seconds()) if beat else None
    state = worker.get_state()
    state = getattr(state, "value", state)
    return WorkerInfo(name=worker.name, host=worker.hostname or "", pid=worker.pid, state=STATES.get(state, state),
                      last_seen=to_local(beat) if beat else None, seconds_ago=ago,
                      stale=beat is None or now - beat > STALE_AFTER)
