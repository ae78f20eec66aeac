"""The house rules, checked on the source: data flows one way, faces do not lean on each other, the core speaks no
face's language, and every face validates through `parse_params`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bailian_mcp.capabilities import CAPABILITIES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bailian_mcp"
FACES = ("server", "cli", "batch")
CORE = ("capabilities", "jobs", "dashscope", "catalog", "config", "errors", "inputs", "media", "lazy_modules")
FACE_WORDS = ("get_task", "list_tasks", "list_models", "wait_seconds", "bailian-mcp", "--wait", "task get")


def layer(path: Path) -> str:
    """The top-level package or module a source file belongs to (`jobs`, `server`, `catalog`, ...)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_layers(path: Path) -> set[str]:
    """The layers of bailian_mcp a source file imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "bailian_mcp" else [f"bailian_mcp.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {name.split(".")[1] for name in names if name.startswith("bailian_mcp.")}
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if layer(p) not in ("emulator", "__init__", "__main__"))


@pytest.mark.parametrize("path", [p for p in SOURCES if layer(p) in CORE], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_no_face(path: Path) -> None:
    assert not imported_layers(path) & set(FACES)


@pytest.mark.parametrize("path", [p for p in SOURCES if layer(p) == "dashscope"], ids=lambda p: p.name)
def test_the_wire_imports_nothing_above_it(path: Path) -> None:
    assert imported_layers(path) <= {"dashscope", "errors", "lazy_modules", "__version__"}


def test_faces_do_not_lean_on_each_other() -> None:
    for path in SOURCES:
        own = layer(path)
        if own not in FACES:
            continue
        others = imported_layers(path) & set(FACES) - {own}
        if path.relative_to(PACKAGE) == Path("cli/main.py"):
            others -= {"server"}  # the command line's entry point serves MCP
        if own == "cli":
            others -= {"batch"}  # `bailian-mcp batch` runs batches
        assert not others, f"{path.relative_to(PACKAGE)} imports {sorted(others)}"


def test_no_face_builds_parameters_without_validating_them() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert "model_construct" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("capability", CAPABILITIES.values(), ids=lambda c: c.name)
def test_capability_texts_speak_no_face_language(capability: object) -> None:
    texts = (getattr(capability, "summary"), getattr(capability, "description"))  # noqa: B009
    for text in texts:
        assert not [word for word in FACE_WORDS if word in text], text
