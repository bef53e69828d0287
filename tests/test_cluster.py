"""render and packet on a real dask.distributed scheduler with two worker processes on loopback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS, pdftotext
from guidepdf.cli import main

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

NAMES = (
    "northwind-robotics-software-engineer.md",
    "saffron-health-data-engineer.md",
    "tessera-ai-ml-engineer.md",
)
MARK = "Rendered with the shipped template"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Guides (one with an image), a user template folder and a user stylesheet with a font."""
    root = tmp_path_factory.mktemp("cluster")
    guides = root / "guides"
    guides.mkdir()
    for name in NAMES:
        shutil.copy(SEEDS / name, guides / name)
    shutil.copytree(SEEDS / "images", guides / "images")
    templates = root / "templates"
    templates.mkdir()
    (templates / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}'
        '{% block notice %}{{ super() }}<p class="mark">' + MARK + "</p>{% endblock %}",
        encoding="utf-8",
    )
    theme = root / "theme"
    theme.mkdir()
    font = Path(__file__).resolve().parents[1] / "styles" / "fonts" / "Inter-Italic.otf"
    shutil.copy(font, theme / "Shipped.otf")
    (theme / "extra.css").write_text(
        '@font-face { font-family: "Shipped"; src: url("Shipped.otf"); }\n'
        '.mark { font-family: "Shipped"; }\n',
        encoding="utf-8",
    )
    return root


def options(project: Path) -> list[str]:
    return [
        "--templates",
        str(project / "templates"),
        "--style",
        str(project / "theme" / "extra.css"),
        "--as-of",
        "2026-11-23",
    ]


def fonts(pdf: Path) -> set[str]:
    names = set()
    for page in PdfReader(pdf).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_render_on_the_cluster(scheduler: str, project: Path) -> None:
    out = project / "out"
    args = ["render", str(project / "guides"), "-o", str(out), "--scheduler", scheduler, *options(project)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "3 rendered, 0 skipped, 0 failed" in result.output
    for name in NAMES:
        pdf = out / name.replace(".md", ".pdf")
        assert MARK in pdftotext(pdf)  # the user template travelled with the task
    northwind = out / "northwind-robotics-software-engineer.pdf"
    assert any(
        "Shipped" in f or "Inter-Italic" in f for f in fonts(northwind)
    )  # so did the stylesheet's font
    assert sum(len(p.images) for p in PdfReader(northwind).pages) >= 1  # and the guide's image
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["items"]
    assert {row["status"] for row in rows} == {"rendered"}

    again = CliRunner().invoke(main, args)
    assert "0 rendered, 3 skipped" in again.output


def test_cluster_output_matches_local(scheduler: str, project: Path, tmp_path: Path) -> None:
    name = "saffron-health-data-engineer"
    local = tmp_path / "local.pdf"
    remote = tmp_path / "remote.pdf"
    guide = str(project / "guides" / f"{name}.md")
    assert CliRunner().invoke(main, ["render", guide, "-o", str(local), *options(project)]).exit_code == 0
    args = ["render", guide, "-o", str(remote), "--scheduler", scheduler, *options(project)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert pdftotext(local) == pdftotext(remote)
    assert len(PdfReader(local).pages) == len(PdfReader(remote).pages)


def test_packet_on_the_cluster(scheduler: str, project: Path) -> None:
    out = project / "packet.pdf"
    args = ["packet", str(project / "guides"), "-o", str(out), "--scheduler", scheduler, "--title", "Cluster"]
    result = CliRunner().invoke(main, [*args, *options(project)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == ["Cover", "Contents", *[_title(n) for n in sorted(NAMES)]]
    assert reader.page_labels[:3] == ["i", "1", "2"]  # a few guides: the contents sit on the cover
    assert pdftotext(out).count(MARK) == len(NAMES)


def test_unreachable_scheduler_is_a_usage_error(project: Path) -> None:
    args = [
        "render",
        str(project / "guides" / NAMES[0]),
        "-o",
        str(project / "x"),
        "--scheduler",
        "tcp://127.0.0.1:9",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "cannot connect" in result.output


def _title(name: str) -> str:
    from guidepdf import load_guide

    return load_guide(SEEDS / name).title
