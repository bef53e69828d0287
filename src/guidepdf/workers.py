"""Run render tasks on warm worker processes or a dask cluster, with per-task time limits."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GuidepdfError, RenderError, UsageError
from .options import RenderOptions
from .tasks import TaskResult, ThemeBundle

if TYPE_CHECKING:  # a pool or a cluster loads them; one guide rendered in this process does not
    from concurrent.futures import Executor, Future

log = logging.getLogger(__name__)

#: Seconds a single guide may take before it is stopped and reported as failed.
DEFAULT_TIMEOUT = 120.0
#: A worker process is replaced after this many tasks, so a long batch's memory stays flat.
RECYCLE_AFTER = 40
#: How long past its time limit a task may run before its worker is killed outright (the worker's
#: own alarm, which keeps it alive for the next guide, cannot interrupt a stuck C call).
GRACE = 10.0
#: A pool's temporary folder is named `guidepdf-pool-<pid of the process that made it>-…`.
SCRATCH_PREFIX = "guidepdf-pool-"
_SCRATCH_RE = re.compile(rf"^{SCRATCH_PREFIX}(\d+)-[A-Za-z0-9_]+$")
#: Tasks queued per local worker at a time (the rest are built when their turn comes).
IN_FLIGHT = 2

TaskFn = Callable[[Any, ThemeBundle | None], TaskResult]


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def warm_worker(options: RenderOptions | None, debug: bool, parent: int, scratch: str | None = None) -> None:
    """Start-up of each worker process: import WeasyPrint and parse the theme once, not per guide.

    The worker's temporary files (WeasyPrint's copies of the theme's fonts among them) go into the
    pool's `scratch` folder, which the pool removes when it closes: a worker is stopped or recycled
    without running its own clean-up, and each would otherwise leave its font folder behind.
    """
    if scratch is not None:
        tempfile.tempdir = scratch
    _exit_with_parent(parent)
    if not debug:
        logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
    from . import coldstart, pdf
    from .tasks import load_pipeline

    coldstart.own_process()  # a worker of guidepdf's pool
    with coldstart.loading():  # the theme's parsed stylesheets and fonts are kept for good, too
        load_pipeline()  # WeasyPrint, pikepdf and the page pipeline
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
        limit_option: str = "--timeout",
    ) -> None:
        self.jobs = jobs or default_jobs()
        self.scheduler = scheduler
        self.options = options
        self.timeout = timeout
        self.recycle = recycle
        self.grace = grace
        self.limit_option = limit_option
        self.inline = inline and scheduler is None
        self._pool: Any = None
        self._scratch: str | None = None  # the pool's temporary folder (see `warm_worker`)
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
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- executors -----------------------------------------------------------------------------------

    def _start_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing

            from pebble import ProcessPool

            # forkserver: each new worker is forked from a server that has already imported
            # WeasyPrint, so replacing a worker (recycled, or killed when stuck) costs milliseconds.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["guidepdf.tasks", "guidepdf.pdf", "weasyprint"])
            _sweep_scratch()
            self._scratch = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
            self._pool = ProcessPool(
                max_workers=self.jobs,
                max_tasks=self.recycle,
                initializer=warm_worker,
                initargs=(self.options, self.debug, os.getpid(), self._scratch),
                context=context,
            )
        return self._pool

    def _start_dask(self, address: str) -> Executor:
        if self._executor is not None:
            return self._executor
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
        self._executor = self._client.get_executor(pure=False)
        return self._executor

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

        # Longest first: a long guide started last would leave the other workers idle at the end.
        sized = getattr(tasks, "size", None)  # deferred tasks know their size without being built
        order = sorted(range(len(tasks)), key=lambda i: -(sized(i) if sized else _size(tasks[i])))
        if self.inline:
            for index in range(len(tasks)):
                task = _take(tasks, index, finish)
                if task is not None:
                    finish(index, fn(task, None))
        elif self.scheduler is not None:
            self._run_cluster(fn, tasks, order, theme, finish)
        else:
            self._run_pool(fn, tasks, order, finish)
        return [r for r in results if r is not None]

    def _run_pool(
        self, fn: TaskFn, tasks: Sequence[Any], order: list[int], finish: Callable[[int, TaskResult], None]
    ) -> None:
        """Local processes: a task past its limit (and the grace) kills only its own worker."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures import TimeoutError as FutureTimeout

        from pebble import ProcessExpired

        pool = self._start_pool()
        limit = self.timeout + self.grace if self.timeout else None
        pending: dict[Future[TaskResult], int] = {}
        deaths: dict[int, int] = {}
        finished_well = 0

        queue = deque(order)

        def schedule(index: int) -> None:
            task = _take(tasks, index, finish)
            if task is None:
                return
            try:
                pending[pool.schedule(fn, args=(task, None), timeout=limit)] = index
            except Exception as exc:  # a pool that broke (its workers cannot start) takes no more
                finish(index, _failed_at(tasks, index, f"worker failed: {type(exc).__name__}: {exc}"))

        def fill() -> None:
            # A few tasks queued per worker, not all: a task (a guide's bytes) is built as its turn
            # comes and let go when its result is in, so memory holds what is in flight.
            while queue and len(pending) < IN_FLIGHT * self.jobs:
                schedule(queue.popleft())

        fill()
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    result = future.result()
                except FutureTimeout:
                    stopped = f"stopped after {self.timeout:g} s ({self.limit_option})"
                    result = _failed_at(tasks, index, stopped)
                except ProcessExpired:
                    deaths[index] = deaths.get(index, 0) + 1
                    if not finished_well and sum(deaths.values()) >= 3:
                        self.close()
                        raise RenderError(
                            "worker processes keep dying before finishing any guide; a script that calls "
                            'guidepdf must guard its top level with `if __name__ == "__main__":`'
                        ) from None
                    if deaths[index] < 2:  # one more go: the crash may have been another's fault
                        schedule(index)
                        continue
                    result = _failed_at(tasks, index, "the worker process died while rendering it")
                except Exception as exc:  # a task that could not be sent or returned
                    result = _failed_at(tasks, index, f"worker failed: {type(exc).__name__}: {exc}")
                if result.error is None:
                    finished_well += 1
                finish(index, result)
            fill()

    def _run_cluster(
        self,
        fn: TaskFn,
        tasks: Sequence[Any],
        order: list[int],
        theme: ThemeBundle | None,
        finish: Callable[[int, TaskResult], None],
    ) -> None:
        """A dask cluster: as many tasks in flight as worker threads; a task past its limit is reported
        and left behind (a worker's thread cannot be stopped)."""
        from concurrent.futures import FIRST_COMPLETED, wait

        assert self.scheduler is not None
        executor = self._start_dask(self.scheduler)
        theme_arg = self._theme_arg(theme)
        queue = deque(order)
        inflight: dict[Future[TaskResult], tuple[int, float]] = {}
        limit = self.timeout + self.grace if self.timeout else None
        while queue or inflight:
            # Only as many tasks in flight as threads: a task's submit time is then its start time.
            while queue and len(inflight) < self.jobs:
                index = queue.popleft()
                task = _take(tasks, index, finish)
                if task is not None:
                    inflight[executor.submit(fn, task, theme_arg)] = (index, time.monotonic())
            done, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                index, _ = inflight.pop(future)
                try:
                    finish(index, future.result())
                except Exception as exc:  # a cluster-side failure (lost worker, serialization)
                    finish(index, _failed_at(tasks, index, f"worker failed: {type(exc).__name__}: {exc}"))
            if limit is None:
                continue
            now = time.monotonic()
            for future, (index, started) in list(inflight.items()):
                if now - started > limit:
                    del inflight[future]
                    future.cancel()
                    finish(
                        index,
                        _failed_at(tasks, index, f"stopped after {self.timeout:g} s ({self.limit_option})"),
                    )


def _size(task: Any) -> int:
    """A task's input size, the best cheap guess at how long it takes to render."""
    return len(getattr(task, "text", None) or getattr(task, "html", None) or b"")


def _take(tasks: Sequence[Any], index: int, finish: Callable[[int, TaskResult], None]) -> Any:
    """The task at `index`, built now if deferred; None (its failure reported) if it cannot be."""
    try:
        return tasks[index]
    except (GuidepdfError, OSError) as exc:
        name = _name_at(tasks, index)
        message = str(exc) if isinstance(exc, GuidepdfError) else f"{name}: {exc.strerror or exc}"
        finish(index, TaskResult(name, error=message))
        return None


def _name_at(tasks: Sequence[Any], index: int) -> str:
    named = getattr(tasks, "name", None)
    if named is not None:
        return str(named(index))
    task = tasks[index]
    return str(getattr(task, "source", None) or getattr(task, "name", None) or task)


def _failed_at(tasks: Sequence[Any], index: int, message: str) -> TaskResult:
    name = _name_at(tasks, index)
    return TaskResult(name, error=f"{name}: {message}")


def _sweep_scratch() -> None:
    """Remove the temporary folders of pools whose process is gone (killed before it could close
    its pool): only real folders of this user's, never through a link, never a live process's."""
    folder = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            found = _SCRATCH_RE.match(entry.name)
            if found is None or _alive(int(found.group(1))):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
                    shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True
