"""Background jobs: generation, rendering and mixing run off the request thread, one at a time.

One worker thread, because the machine's cores already go to TensorFlow and fluidsynth; the page
polls ``GET /api/jobs/{id}`` for ``progress`` (0..1), a ``stage`` line, and the result or the
error's one-line message. A job's failure is recorded, never raised into the server.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from composer.errors import ComposerError

log = logging.getLogger(__name__)
_MAX_KEPT = 200  # finished jobs remembered for polling
# One generation at a time across jobs and the radio: a run's LiteRT interpreter is shared and not thread-safe.
GENERATE_LOCK = threading.Lock()


@dataclass
class Job:
    """What the page sees of one job."""

    id: str
    kind: str
    status: str = "queued"  # queued, running, done, error
    stage: str = "waiting for the worker"
    progress: float = 0.0
    result: Any = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, stage: str, progress: float) -> None:
        """Called by the work itself as it moves on."""
        with self.lock:
            self.stage, self.progress = stage, max(0.0, min(1.0, progress))

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {"id": self.id, "kind": self.kind, "status": self.status, "stage": self.stage,
                    "progress": round(self.progress, 3), "result": self.result, "error": self.error}


class Jobs:
    """A single-worker queue of jobs, looked up by id."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-job")
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._started = time.strftime("%H%M%S")  # job ids (and so kept names) stay unique across restarts
        self._lock = threading.Lock()

    def submit(self, kind: str, work: Callable[[Job], Any]) -> Job:
        """Queue ``work(job)``; its return value becomes ``job.result``."""
        with self._lock:
            job = Job(id=f"{kind}-{self._started}-{next(self._ids)}", kind=kind)
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-_MAX_KEPT]:
                del self._jobs[old]
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _run(job: Job, work: Callable[[Job], Any]) -> None:
        job.report("starting", 0.0)
        with job.lock:
            job.status = "running"
        try:
            result = work(job)
        except ComposerError as exc:
            outcome = {"status": "error", "error": str(exc)}
        except Exception as exc:  # a bug must not take the server down: report it to the page
            log.exception("job %s failed", job.id)
            outcome = {"status": "error", "error": f"internal error: {type(exc).__name__}: {exc}"}
        else:
            outcome = {"status": "done", "result": result, "progress": 1.0, "stage": "done"}
        with job.lock:
            for key, value in outcome.items():
                setattr(job, key, value)
