"""Batches on the worker pool: a mixed batch, the manifest, incremental rebuilds, timeouts, shipped files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf.cli import main
from guidepdf.options import RenderOptions
from guidepdf.tasks import RenderTask, TaskResult, collect_theme, guide_resources, run_render
from guidepdf.workers import Workers

pytestmark = pytest.mark.slow

GOOD = (
    "northwind-robotics-software-engineer.md",  # references images/northwind-comp-bands.png
    "brightmoor-analytics-data-scientist.md",
    "corvid-cloud-site-reliability-engineer.md",
)
BAD_YAML = "---\ncompany: broken\nrole: [unclosed\n---\n# Broken\n"
BAD_NUMBER = "---\ncompany: acme\nrole: engineer\ncompensation:\n  - base_low: lots\n---\n# Acme\n"
AS_OF = ["--as-of", "2026-11-23"]


def make_guides(folder: Path) -> Path:
    """A folder with three good guides (one with an image) and two bad ones."""
    folder.mkdir(parents=True)
    for name in GOOD:
        shutil.copy(SEEDS / name, folder / name)
    shutil.copytree(SEEDS / "images", folder / "images")
    (folder / "broken-yaml.md").write_text(BAD_YAML, encoding="utf-8")
    (folder / "bad-number.md").write_text(BAD_NUMBER, encoding="utf-8")
    return folder


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args])
    return result.exit_code, result.stderr if hasattr(result, "stderr") else result.output


def manifest(out: Path) -> dict[str, dict]:
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {Path(row["source"]).name: row for row in data["items"]}


def stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    root = tmp_path_factory.mktemp("batch")
    guides = make_guides(root / "guides")
    out = root / "out"
    code, err = run("render", str(guides), "-o", str(out), "--jobs", "2", *AS_OF)
    return guides, out, code, err


def test_mixed_batch_writes_the_good_and_reports_the_bad(first_run: tuple[Path, Path, int, str]) -> None:
    _, out, code, err = first_run
    assert code == 1
    error_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 2
    assert any("broken-yaml.md" in line and "line" in line for line in error_lines)
    assert any("bad-number.md" in line and "compensation[0].base_low" in line for line in error_lines)
    assert "3 rendered, 0 skipped, 2 failed" in err
    assert sorted(p.name for p in out.glob("*.pdf")) == [
        "brightmoor-analytics-data-scientist.pdf",
        "corvid-cloud-site-reliability-engineer.pdf",
        "northwind-robotics-software-engineer.pdf",
    ]
    text = pdftotext(out / "northwind-robotics-software-engineer.pdf")
    assert "Northwind Robotics" in text and "Page 1 of" in text
    assert not list(out.glob(".*.part"))


def test_manifest_rows_describe_the_files(first_run: tuple[Path, Path, int, str]) -> None:
    _, out, _, _ = first_run
    rows = manifest(out)
    assert set(rows) == {*GOOD, "broken-yaml.md", "bad-number.md"}
    for name in GOOD:
        row = rows[name]
        pdf = Path(row["output"])
        data = pdf.read_bytes()
        assert row["status"] == "rendered" and row["error"] is None
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["bytes"] == len(data)
        assert row["pages"] == int(pdfinfo(pdf)["Pages"])
    assert rows["bad-number.md"]["status"] == "failed"
    assert "expected a number" in rows["bad-number.md"]["error"]


def test_images_reach_the_worker(first_run: tuple[Path, Path, int, str]) -> None:
    _, out, _, _ = first_run
    from pypdf import PdfReader

    reader = PdfReader(out / "northwind-robotics-software-engineer.pdf")
    assert sum(len(page.images) for page in reader.pages) >= 1


def test_incremental_skip_and_rebuild(first_run: tuple[Path, Path, int, str], tmp_path: Path) -> None:
    guides, first_out, _, _ = first_run
    out = tmp_path / "out"
    shutil.copytree(first_out, out)
    for row_file in [out / "manifest.json"]:  # the copy's rows point at the copied outputs
        text = row_file.read_text(encoding="utf-8").replace(str(first_out), str(out))
        row_file.write_text(text, encoding="utf-8")
    args = ["render", str(guides), "-o", str(out), "--jobs", "2", *AS_OF]

    before = stamps(out)
    code, err = run(*args)
    assert "0 rendered, 3 skipped, 2 failed" in err and code == 1
    assert stamps(out) == before  # nothing rewritten

    # One guide edited: only its brief is rebuilt.
    edited = guides / "corvid-cloud-site-reliability-engineer.md"
    original = edited.read_text(encoding="utf-8")
    try:
        edited.write_text(original.replace("Corvid Cloud", "Corvid Skies", 3), encoding="utf-8")
        code, err = run(*args)
        assert "1 rendered, 2 skipped" in err
        assert "Corvid Skies" in pdftotext(out / "corvid-cloud-site-reliability-engineer.pdf")
        assert manifest(out)["corvid-cloud-site-reliability-engineer.md"]["status"] == "rendered"
    finally:
        edited.write_text(original, encoding="utf-8")

    # The referenced image changed: that guide is rebuilt.
    image = guides / "images" / "northwind-comp-bands.png"
    saved = image.read_bytes()
    try:
        image.write_bytes(saved + b"\0")
        code, err = run(*args)
        assert "2 rendered, 1 skipped" in err  # the image and the restored corvid guide
    finally:
        image.write_bytes(saved)

    # A damaged output is noticed and rebuilt.
    damaged = out / "brightmoor-analytics-data-scientist.pdf"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    code, err = run(*args)
    assert "2 rendered, 1 skipped" in err  # brightmoor, and northwind back to its old image
    assert int(pdfinfo(damaged)["Pages"]) >= 1

    # An option or the theme changed: everything is rebuilt.
    code, err = run(*args, "--page-size", "Letter")
    assert "3 rendered, 0 skipped" in err
    style = tmp_path / "extra.css"
    style.write_text("h1.title { color: #a00; }\n", encoding="utf-8")
    code, err = run(*args, "--page-size", "Letter", "--style", str(style))
    assert "3 rendered, 0 skipped" in err
    code, err = run(*args, "--page-size", "Letter", "--style", str(style))
    assert "0 rendered, 3 skipped" in err
    style.write_text("h1.title { color: #0a0; }\n", encoding="utf-8")
    code, err = run(*args, "--page-size", "Letter", "--style", str(style))
    assert "3 rendered, 0 skipped" in err

    # --force rebuilds what is up to date.
    code, err = run(*args, "--page-size", "Letter", "--style", str(style), "--force")
    assert "3 rendered, 0 skipped" in err


def test_removed_guide_leaves_the_manifest(tmp_path: Path) -> None:
    guides = tmp_path / "guides"
    guides.mkdir()
    for name in GOOD[1:]:
        shutil.copy(SEEDS / name, guides / name)
    out = tmp_path / "out"
    code, _ = run("render", str(guides), "-o", str(out), "--jobs", "2", *AS_OF)
    assert code == 0 and len(manifest(out)) == 2
    (guides / GOOD[1]).unlink()
    code, err = run("render", str(guides), "-o", str(out), "--jobs", "2", *AS_OF)
    assert code == 0 and "1 removed" in err
    assert set(manifest(out)) == {GOOD[2]}
    assert not (out / "brightmoor-analytics-data-scientist.pdf").exists()


def test_a_slow_guide_times_out_and_the_batch_goes_on(tmp_path: Path) -> None:
    guides = tmp_path / "guides"
    guides.mkdir()
    shutil.copy(SEEDS / GOOD[1], guides / GOOD[1])
    rows = "\n".join(
        f"| r{i} | " + " | ".join(f"cell {i} {j} words" for j in range(6)) + " |" for i in range(8000)
    )
    (guides / "slow.md").write_text(
        "---\ncompany: slow\nrole: table\n---\n# Slow\n\n| a | b | c | d | e | f | g |\n"
        "|---|---|---|---|---|---|---|\n" + rows + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, err = run("render", str(guides), "-o", str(out), "--jobs", "2", "--timeout", "10", *AS_OF)
    assert code == 1, err
    assert "error: " + str(guides / "slow.md") + ": stopped after 10 s (--timeout)" in err
    assert (out / "brightmoor-analytics-data-scientist.pdf").is_file()
    assert not (out / "slow-table.pdf").exists()
    assert manifest(out)["slow.md"]["status"] == "failed"


def test_a_task_carries_its_files_so_no_shared_folder_is_needed(tmp_path: Path) -> None:
    """What a remote worker does: the guide's folder is gone, the task still renders with its image."""
    folder = tmp_path / "guides"
    make_guides(folder)
    path = folder / GOOD[0]
    text = path.read_bytes()
    resources = guide_resources(path, text)
    assert [name for name, _ in resources] == ["images/northwind-comp-bands.png"]
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}{% block notice %}<p>Shipped template mark</p>{% endblock %}',
        encoding="utf-8",
    )
    options = RenderOptions(templates=(templates,), attach_sources=False).pinned()
    theme = collect_theme(options)
    task = RenderTask(str(path), text, options, "pdf", resources, None)
    shutil.rmtree(folder)
    shutil.rmtree(templates)
    result = run_render(task, theme)
    assert result.error is None, result.error
    pdf = tmp_path / "remote.pdf"
    pdf.write_bytes(result.data or b"")
    assert "Shipped template mark" in pdftotext(pdf)
    from pypdf import PdfReader

    assert sum(len(page.images) for page in PdfReader(pdf).pages) >= 1


def nap(task: str, theme: object) -> TaskResult:
    """A task function for the pool: "stuck" blocks the worker's alarm and sleeps, like a hung C call."""
    import signal
    import time

    if task == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(120)
    return TaskResult(task, data=task.encode())


def test_a_stuck_worker_is_killed_and_the_others_finish() -> None:
    tasks = ["a", "stuck", "b", "c", "d"]
    with Workers(2, timeout=1, grace=1) as workers:
        results = workers.run(nap, tasks)
    by_name = {r.source: r for r in results}
    assert by_name["stuck"].error == "stuck: stopped after 1 s (--timeout)"
    assert [by_name[t].data for t in "abcd"] == [b"a", b"b", b"c", b"d"]


def nap_and_note(task: SimpleNamespace, theme: object) -> TaskResult:
    """Like `nap`, and each run appends the task's name to a file, so runs can be counted."""
    import signal
    import time

    name, notes = task.source, task.notes
    with open(notes, "a", encoding="utf-8") as handle:
        handle.write(name + "\n")
    if name == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(120)
    # On the other worker, "a" then "long" run from 0 to 3.4 s: "long" is half-way through, within its
    # own limit, when "stuck" passes its limit plus grace (2.5 s) and is killed.
    time.sleep({"a": 1.0, "long": 2.4}.get(name, 0))
    return TaskResult(name, data=name.encode())


def test_killing_a_stuck_worker_leaves_its_siblings_running(tmp_path: Path) -> None:
    notes = tmp_path / "runs.txt"
    tasks = [SimpleNamespace(source=name, notes=str(notes)) for name in ("stuck", "a", "long", "b")]
    with Workers(2, timeout=1.5, grace=1) as workers:
        results = workers.run(nap_and_note, tasks)
    by_name = {r.source: r for r in results}
    assert by_name["stuck"].error == "stuck: stopped after 1.5 s (--timeout)"
    assert [by_name[t].data for t in ("long", "a", "b")] == [b"long", b"a", b"b"]
    runs = notes.read_text(encoding="utf-8").split()
    assert sorted(runs) == ["a", "b", "long", "stuck"]  # nothing was started twice


def test_tasks_are_built_as_their_turn_comes_and_a_vanished_guide_is_one_failure() -> None:
    from guidepdf import workers as workers_module
    from guidepdf.tasks import DeferredTasks

    names = [f"t{n}" for n in range(8)]
    built: list[int] = []
    done: list[int] = []
    most_in_flight = [0]

    def build(index: int) -> str:
        if names[index] == "t5":
            raise FileNotFoundError(2, "No such file or directory", "t5")
        built.append(index)
        most_in_flight[0] = max(most_in_flight[0], len(built) - len(done))
        return names[index]

    def heard(index: int, result: TaskResult) -> None:
        done.append(index)

    tasks = DeferredTasks(names, [1] * len(names), build)
    with Workers(1) as workers:
        results = workers.run(nap, tasks, None, heard)  # type: ignore[arg-type]
    by_name = {r.source: r for r in results}
    assert by_name["t5"].error == "t5: No such file or directory"
    assert sorted(name for name, r in by_name.items() if r.error is None) == [n for n in names if n != "t5"]
    assert sorted(built) == [n for n in range(8) if n != 5]  # each built once
    assert most_in_flight[0] <= workers_module.IN_FLIGHT  # never all eight at once


def test_a_guide_edited_after_planning_is_rendered_and_recorded_as_it_now_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guidepdf import batch

    guides = tmp_path / "guides"
    guides.mkdir()
    for name in ("kestrel-games-product-designer.md", "lumenpay-product-manager.md"):
        shutil.copy(SEEDS / name, guides / name)
    kestrel = guides / "kestrel-games-product-designer.md"
    real_make_task = batch.make_task
    calls: dict[str, int] = {}

    def make_task(source: Path, *args: object, **kwargs: object) -> object:
        calls[source.name] = calls.get(source.name, 0) + 1
        if source == kestrel and calls[source.name] == 2:  # planned; now its turn comes: edit it
            text = kestrel.read_text(encoding="utf-8")
            kestrel.write_text(text.replace("Kestrel Games", "Kestrel Studios"), encoding="utf-8")
        return real_make_task(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "make_task", make_task)
    out = tmp_path / "out"
    first = CliRunner().invoke(main, ["render", str(guides), "-o", str(out), "--jobs", "1"])
    assert first.exit_code == 0, first.output
    assert "Kestrel Studios" in pdftotext(out / "kestrel-games-product-designer.pdf")
    monkeypatch.setattr(batch, "make_task", real_make_task)
    code, err = run("render", str(guides), "-o", str(out), "--jobs", "1")
    assert code == 0 and "0 rendered, 2 skipped" in err, err  # recorded with the key of what it is now


def test_workers_leave_no_font_folders_behind() -> None:
    """Each worker's copies of the theme's fonts go into the pool's own temporary folder, removed
    when the pool closes: stopped and recycled workers never clean up after themselves."""
    options = RenderOptions(as_of=None).pinned()
    theme = collect_theme(options)
    tasks = []
    for name in ("kestrel-games-product-designer.md", "lumenpay-product-manager.md"):
        path = SEEDS / name
        tasks.append(RenderTask(str(path), path.read_bytes(), options, "pdf", None, 60))
    with Workers(2, options=options) as workers:
        results = workers.run(run_render, tasks, theme)
        scratch = Path(workers._scratch or "")
        fonts = sorted(scratch.glob("weasyprint-*/*"))
    assert all(r.error is None for r in results), [r.error for r in results]
    assert fonts  # the workers' font copies were made there ...
    assert not scratch.exists()  # ... and went with the pool


def test_a_guides_referenced_files_are_read_once_when_it_has_not_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning reads a guide's images to work out its key; building its task later reads the guide
    again, but not its images (nothing ships them to a local worker, and the key stands)."""
    from guidepdf import batch, tasks

    folder = tmp_path / "guides"
    make_guides(folder)
    reads: list[str] = []
    real = tasks.guide_resources

    def counted(path: Path, text: bytes) -> tasks.Files:
        reads.append(Path(path).name)
        return real(path, text)

    monkeypatch.setattr(batch, "guide_resources", counted)
    out = tmp_path / "out"
    code, err = run("render", str(folder / GOOD[0]), str(folder / GOOD[1]), "-o", str(out), "-j", "1", *AS_OF)
    assert code == 0, err
    assert sorted(reads) == sorted(GOOD[:2])  # once each, while planning
    assert "northwind" in pdftotext(out / "northwind-robotics-software-engineer.pdf").lower()
