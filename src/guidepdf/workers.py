"""Run render tasks on warm worker processes or a dask cluster, with per-task time limits."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import RenderError, UsageError
from .options import RenderOptions
from .tasks import TaskResult, ThemeBundle

log = logging.getLogger(__name__)

#: Seconds a single guide may take before it is stopped and reported as failed.
DEFAULT_TIMEOUT = 120.0
#: A worker process is replaced after this many tasks, so a long batch's memory stays flat.
RECYCLE_AFTER = 40
#: How long past its time limit a task may run before the parent kills the worker outright
#: (the worker's own alarm cannot interrupt a stuck C call).
GRACE = 10.0

TaskFn = Callable[[Any, ThemeBundle | None], TaskResult]


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def warm_worker(options: RenderOptions | None, debug: bool, parent: int) -> None:
    """Start-up of each worker process: import WeasyPrint and parse the theme once, not per guide."""
    _exit_with_parent(parent)
    if not debug:
        logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
    from . import pdf

    pdf.warm_up()
    try:
        pdf.warm_up(options)
    except Exception:  # a broken theme is reported by the first task that uses it
        log.debug("theme warm-up failed", exc_info=True)


def _exit_with_parent(parent: int) -> None:
    """End this worker when guidepdf's process dies (even by SIGKILL), so no worker is orphaned.

    Workers are children of the fork server, which only exits once every worker has; so each
    worker watches the process that started the pool.
    """
    birth = _started(parent)

    def watch() -> None:
        while _started(parent) == birth and birth is not None:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="guidepdf-parent-watch", daemon=True).start()


def _started(pid: int) -> str | None:
    """The start time of a live process (None if gone or a zombie): a PID reused later differs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc here: fall back to asking the kernel whether the PID exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "alive"
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


class Workers:
    """A pool of warm processes (or a dask client) that runs tasks and gathers their results.

    Use as a context manager. With `inline=True` tasks run in this process, which is the
    cheapest way to render one guide.
    """

    def __init__(
        self,
        jobs: int | None = None,
        *,
        scheduler: str | None = None,
        options: RenderOptions | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        recycle: int = RECYCLE_AFTER,
        inline: bool = False,
        grace: float = GRACE,
    ) -> None:
        self.jobs = jobs or default_jobs()
        self.scheduler = scheduler
        self.options = options
        self.timeout = timeout
        self.recycle = recycle
        self.grace = grace
        self.inline = inline and scheduler is None
        self._executor: Executor | None = None
        self._client: Any = None
        self._theme_futures: dict[str, Any] = {}
        self.debug = logging.getLogger("guidepdf").isEnabledFor(logging.DEBUG)

    @property
    def remote(self) -> bool:
        """True when tasks run on a cluster and must carry their files."""
        return self.scheduler is not None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes, or disconnect from the cluster."""
        if isinstance(self._executor, ProcessPoolExecutor):
            self._executor.shutdown(wait=True, cancel_futures=True)
        elif self._executor is not None:
            self._executor.shutdown(wait=False)
        self._executor = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- executors -----------------------------------------------------------------------------------

    def _start(self) -> Executor:
        if self._executor is not None:
            return self._executor
        if self.scheduler is not None:
            self._executor = self._start_dask(self.scheduler)
        else:
            # forkserver: each new worker is forked from a server that has already imported
            # WeasyPrint, so recycling a worker costs milliseconds, not a second of imports.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["guidepdf.tasks", "guidepdf.pdf", "weasyprint"])
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=context,
                initializer=warm_worker,
                initargs=(self.options, self.debug, os.getpid()),
                max_tasks_per_child=self.recycle,
            )
        return self._executor

    def _start_dask(self, address: str) -> Executor:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs dask.distributed: pip install 'guidepdf[dask]'") from None
        try:
            self._client = Client(address, timeout="5s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {address}: cannot connect: {exc}") from None
        threads = sum(self._client.nthreads().values())
        if threads == 0:
            raise UsageError(f"--scheduler {address}: the cluster has no workers")
        self.jobs = threads
        return self._client.get_executor(pure=False)

    def _kill(self) -> None:
        """Kill every worker process at once (a task is stuck where no alarm can reach it)."""
        executor = self._executor
        self._executor = None
        if isinstance(executor, ProcessPoolExecutor):
            # No public API names a pool's processes; killing them is the only way to stop a task.
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
            executor.shutdown(wait=False, cancel_futures=True)

    def _theme_arg(self, theme: ThemeBundle | None) -> Any:
        if theme is None or not self.remote:
            return None
        if theme.digest not in self._theme_futures:
            # Sent once to every worker instead of once per task: fonts and templates add up.
            self._theme_futures[theme.digest] = self._client.scatter(theme, broadcast=True, hash=False)
        return self._theme_futures[theme.digest]

    # -- running -------------------------------------------------------------------------------------

    def run(
        self,
        fn: TaskFn,
        tasks: Sequence[Any],
        theme: ThemeBundle | None = None,
        on_result: Callable[[int, TaskResult], None] | None = None,
    ) -> list[TaskResult]:
        """Run `fn(task, theme)` for every task; results in task order. Never raises for one task.

        With `on_result`, each result is handed over as it arrives and only its outcome is kept (the
        returned results carry no data), so a long batch's memory does not grow with its outputs.
        """
        results: list[TaskResult | None] = [None] * len(tasks)

        def finish(index: int, result: TaskResult) -> None:
            if on_result is None:
                results[index] = result
                return
            results[index] = replace(result, data=None)
            on_result(index, result)

        if self.inline:
            for index, task in enumerate(tasks):
                finish(index, fn(task, None))
            return [r for r in results if r is not None]

        # Longest first: a long guide started last would leave the other workers idle at the end.
        queue: deque[int] = deque(sorted(range(len(tasks)), key=lambda i: -_size(tasks[i])))
        inflight: dict[Future[TaskResult], tuple[int, float]] = {}
        crashes: dict[int, int] = {}
        restarts = 0
        while queue or inflight:
            executor = self._start()
            theme_arg = self._theme_arg(theme)
            # Only as many tasks in flight as workers: a task's submit time is then its start
            # time, which the watchdog below relies on.
            while queue and len(inflight) < self.jobs:
                index = queue.popleft()
                inflight[executor.submit(fn, tasks[index], theme_arg)] = (index, time.monotonic())
            done, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                index, _ = inflight.pop(future)
                try:
                    finish(index, future.result())
                except BrokenProcessPool:
                    broken = True
                    crashes[index] = crashes.get(index, 0) + 1
                    if crashes[index] >= 2:
                        finish(index, _failed(tasks[index], "the worker process died while rendering it"))
                    else:
                        queue.appendleft(index)
                except Exception as exc:  # a cluster-side failure (lost worker, serialization)
                    finish(index, _failed(tasks[index], f"worker failed: {type(exc).__name__}: {exc}"))
            if broken:
                restarts += 1
                if restarts >= 3 and not any(r is not None and r.error is None for r in results):
                    raise RenderError(
                        "worker processes keep dying before finishing any guide; a script that calls "
                        'guidepdf must guard its top level with `if __name__ == "__main__":`'
                    )
                self._requeue(inflight, queue, crashes)
                self._kill()
                continue
            self._watchdog(tasks, inflight, queue, finish)
        return [r for r in results if r is not None]

    def _requeue(
        self,
        inflight: dict[Future[TaskResult], tuple[int, float]],
        queue: deque[int],
        crashes: dict[int, int],
    ) -> None:
        for index, _ in sorted(inflight.values(), reverse=True):
            queue.appendleft(index)
        inflight.clear()

    def _watchdog(
        self,
        tasks: Sequence[Any],
        inflight: dict[Future[TaskResult], tuple[int, float]],
        queue: deque[int],
        finish: Callable[[int, TaskResult], None],
    ) -> None:
        if not self.timeout:
            return
        now = time.monotonic()
        limit = self.timeout + self.grace
        overdue = [future for future, (_, started) in inflight.items() if now - started > limit]
        if not overdue:
            return
        for future in overdue:
            index, _ = inflight.pop(future)
            future.cancel()
            finish(index, _failed(tasks[index], f"stopped after {self.timeout:g} s (--timeout)"))
        if not self.remote:
            # The stuck worker cannot be told apart from its siblings: restart them all and
            # give their unfinished guides another go.
            self._requeue(inflight, queue, {})
            self._kill()


def _size(task: Any) -> int:
    """A task's input size, the best cheap guess at how long it takes to render."""
    return len(getattr(task, "text", None) or getattr(task, "html", None) or b"")


def _failed(task: Any, message: str) -> TaskResult:
    name = str(getattr(task, "source", None) or getattr(task, "name", None) or task)
    return TaskResult(name, error=f"{name}: {message}")
