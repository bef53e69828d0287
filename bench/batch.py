"""Time a batch: the worker pool against one `weasyprint` command per guide, and an unchanged re-run.

    python bench/batch.py [--guides 40] [--jobs 2] [--baseline-sample N]

Guides are generated into a temporary folder by copying the seeds with varied companies and figures.
The baseline is what a shell loop would do: `weasyprint guide.html guide.pdf` once per guide, on the
self-contained HTML guidepdf writes with `--format html` (made beforehand, not timed). Prints seconds,
ratios and the whole process tree's peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
BIN = Path(sys.executable).parent


def make_guides(folder: Path, count: int, companies: int | None = None) -> list[Path]:
    """`count` distinct guides: the seeds over and over, each copy with other figures.

    Each copy is a different company; with `companies`, each seed's copies spread over that many
    companies instead, each holding several roles (as a real library does), so packets per company
    hold many guides.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    for image in (SEEDS / "images").iterdir():
        (folder / "images" / image.name).write_bytes(image.read_bytes())
    seeds = sorted(SEEDS.glob("*.md"))
    paths = []
    width = max(4, len(str(count - 1)))
    for n in range(count):
        seed = seeds[n % len(seeds)]
        copy = n // len(seeds)
        company, role = (copy, 0) if companies is None else (copy % companies, copy // companies)
        text = seed.read_text(encoding="utf-8")
        if company:
            text = re.sub(r"^company: (.+)$", rf"company: \1-{company}", text, count=1, flags=re.M)
            text = re.sub(
                r"^company_display: (.+)$", rf"company_display: \1 {company}", text, count=1, flags=re.M
            )
        if role:
            text = re.sub(r"^role: (.+)$", rf"role: \1-{role}", text, count=1, flags=re.M)
            text = re.sub(r"^role_display: (.+)$", rf"role_display: \1 {role}", text, count=1, flags=re.M)
        if copy:
            # Figures move a little, so every copy's tables differ from its seed's.
            text = re.sub(
                r"^(\s+(?:base|total_comp)_(?:low|high)): (\d+)$",
                lambda m, shift=copy * 1000: f"{m.group(1)}: {int(m.group(2)) + shift}",
                text,
                flags=re.M,
            )
        path = folder / f"{n:0{width}d}-{seed.name}"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class PeakMemory:
    """Samples the resident memory of a process and all its descendants; keeps the peak (bytes).

    `main_peak` is the peak of the process itself, without its workers.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.main_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.process, *self.process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        rss = proc.memory_info().rss
                        total += rss
                        if proc is self.process:
                            self.main_peak = max(self.main_peak, rss)
            except psutil.Error:
                break
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(args: list[str], **kwargs: object) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Run a command; its wall time, its process tree's peak RSS, and the finished process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)  # type: ignore[call-overload]
    memory = PeakMemory(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    peak = memory.stop()
    done = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed:\n{err}")
    return seconds, peak, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--baseline-sample", type=int, default=0, help="time only this many weasyprint runs and scale up"
    )
    args = parser.parse_args()
    guidepdf = str(BIN / "guidepdf")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_guides(root / "guides", args.guides)
        print(f"{len(paths)} guides, {args.jobs} workers")

        out = root / "out"
        common = ["--as-of", "2026-11-23", "--no-check"]  # generated figures disagree with their tables
        first, peak, done = timed(
            [guidepdf, "render", str(root / "guides"), "-o", str(out), "--jobs", str(args.jobs), *common]
        )
        summary = done.stderr.strip().splitlines()[-1]
        print(f"batch, first run:     {first:7.2f} s   peak memory {peak / 2**20:6.0f} MB   ({summary})")
        again, _, done = timed(
            [guidepdf, "render", str(root / "guides"), "-o", str(out), "--jobs", str(args.jobs), *common]
        )
        summary = done.stderr.strip().splitlines()[-1]
        print(f"batch, unchanged:     {again:7.2f} s   = {again / first:6.1%} of the first run   ({summary})")

        html = root / "html"
        subprocess.run(
            [
                guidepdf,
                "render",
                str(root / "guides"),
                "-o",
                str(html),
                "--format",
                "html",
                "--jobs",
                str(args.jobs),
                *common,
            ],
            check=True,
            capture_output=True,
        )
        pages = sorted(html.glob("*.html"))
        sample = pages[: args.baseline_sample] if args.baseline_sample else pages
        start = time.perf_counter()
        for page in sample:
            subprocess.run(
                [str(BIN / "weasyprint"), str(page), str(page.with_suffix(".pdf"))],
                check=True,
                capture_output=True,
            )
        baseline = (time.perf_counter() - start) * len(pages) / len(sample)
        scaled = f" (timed {len(sample)}, scaled to {len(pages)})" if len(sample) != len(pages) else ""
        print(f"weasyprint per guide: {baseline:7.2f} s{scaled}")
        print(f"speed-up:             {baseline / first:7.1f}x")


if __name__ == "__main__":
    main()
