"""The command line starts light: help and the data commands never load the rendering, mail or packet code."""

from __future__ import annotations

from pathlib import Path

import pytest

import guidepdf
from conftest import after_command

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
HEAVY = ("weasyprint", "pikepdf", "smtplib")
HEAVY_OWN = (
    "guidepdf.pdf",
    "guidepdf.brief",
    "guidepdf.html_export",
    "guidepdf.mail",
    "guidepdf.packet",
    "guidepdf.batch",
)


def loaded_modules(args: list[str], cwd: Path | None = None) -> set[str]:
    return set(after_command(args, "sorted(sys.modules)", cwd))


@pytest.mark.parametrize(
    "args",
    [["--help"], ["render", "--help"], ["check", "--help"], ["check", str(SEEDS)]],
    ids=["help", "render-help", "check-help", "check-seeds"],
)
def test_light_commands_never_load_rendering_mail_or_packets(args: list[str]) -> None:
    heavy = sorted(m for m in loaded_modules(args) if m.split(".")[0] in HEAVY or m in HEAVY_OWN)
    assert heavy == []


#: What rendering one brief to one file in the command's own process does not need: worker pools and
#: clusters, the batch manifest and its signatures, package metadata (the cache key's WeasyPrint
#: version), the TOML reader with no configuration file, and the mail, packet, watch and preview code.
NOT_FOR_ONE_BRIEF = (
    "multiprocessing",
    "concurrent.futures",
    "pebble",
    "distributed",
    "importlib.metadata",
    "tomllib",
    "guidepdf.statekey",
    "guidepdf.mail",
    "guidepdf.packet",
    "guidepdf.watch",
    "guidepdf.preview",
)


def test_one_brief_loads_no_pool_manifest_metadata_or_configuration_code(tmp_path: Path) -> None:
    seed = SEEDS / "kestrel-games-product-designer.md"
    loaded = loaded_modules(["render", str(seed), "-o", str(tmp_path / "brief.pdf")], cwd=tmp_path)
    assert "weasyprint" in loaded and "pikepdf" in loaded  # it did render
    assert sorted(m for m in loaded if m in NOT_FOR_ONE_BRIEF or m.split(".")[0] in NOT_FOR_ONE_BRIEF) == []


def test_package_import_is_lazy_and_exports_resolve() -> None:
    assert set(guidepdf.__all__) == {*guidepdf._EXPORTS, "__version__"}
    for name in guidepdf.__all__:
        assert getattr(guidepdf, name) is not None
    with pytest.raises(AttributeError):
        _ = guidepdf.no_such_name  # type: ignore[attr-defined]


SRC = Path(__file__).resolve().parents[1] / "src" / "guidepdf"
#: Imports that would run back up the pipeline (load -> body -> page -> PDF -> packet/mail -> CLI).
UPWARD = {
    "markup": {"guide", "templating", "pdf", "brief", "html_export", "batch", "packet", "mail", "cli"},
    "guide": {"markup", "templating", "pdf", "brief", "html_export", "batch", "packet", "mail", "cli"},
    "templating": {"pdf", "brief", "html_export", "tasks", "batch", "packet", "mail", "cli"},
    "pdf": {"brief", "html_export", "tasks", "batch", "packet", "mail", "cli"},
    "brief": {"html_export", "tasks", "batch", "packet", "mail", "cli"},
    "html_export": {"tasks", "batch", "packet", "mail", "cli"},
    "tasks": {"batch", "packet", "mail", "cli"},
    "packet": {"preview", "mail", "cli"},
    "mail": {"preview", "cli"},
    "batch": {"packet", "mail", "cli"},
    "check": {"pdf", "brief", "html_export", "batch", "packet", "mail", "cli"},
}


def relative_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for each `from .module import names` in a source file; within a package, an
    import from outside it (`from ..batch import`) names the top-level module (`batch`)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module:
            found.append((node.module.split(".")[0], [alias.name for alias in node.names]))
    return found


def layer(path: Path) -> str:
    """The pipeline layer a source file belongs to: its module, or the package it is part of."""
    return path.stem if path.parent == SRC else path.relative_to(SRC).parts[0]


def test_no_module_imports_another_modules_private_names() -> None:
    private = [
        f"{path.stem} imports {module}.{name}"
        for path in sorted(SRC.rglob("*.py"))
        for module, names in relative_imports(path)
        for name in names
        if name.startswith("_") and module != "_version"
    ]
    assert private == []


def test_imports_never_run_back_up_the_pipeline() -> None:
    upward = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted(SRC.rglob("*.py"))
        for module, _ in relative_imports(path)
        if module in UPWARD.get(layer(path), set())
    ]
    assert upward == []
