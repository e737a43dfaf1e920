"""The layout shows the architecture: every import inside derive points down the pipeline."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "derive"

# lower layers know nothing of higher ones: the core knows nothing of templates, the CLI or files
RANK = {"limits": 0, "lazy": 0, "background": 0, "errors": 0.5, "resources": 0, "model": 1, "spec": 2, "rules": 2,
        "engine": 3, "matrix": 3, "printing": 4, "numeric": 4, "render": 5, "api": 6, "cache": 6, "cli": 7,
        "__main__": 8, "integrations": 8, "sphinx": 9, "__init__": 8}  # the package face re-exports the API
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def part_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    """The parts of derive a module imports, however it writes the import."""
    parts = set()
    depth = len(path.relative_to(PACKAGE).parts) - 1  # how many dots reach the package from here
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            parts |= {alias.name.split(".")[1] if "." in alias.name else "__init__"
                      for alias in node.names if alias.name.split(".")[0] == "derive"}
        elif isinstance(node, ast.ImportFrom):
            absolute = node.level == 0 and (node.module or "").split(".")[0] == "derive"
            if absolute or node.level == depth + 1:
                module = (node.module or "").split(".")[1:] if absolute else (node.module or "").split(".")
                # "from derive import api" names a part; "from derive import Derivation" the package face
                names = [alias.name for alias in node.names]
                parts |= {module[0]} if module and module[0] else {n if n in RANK else "__init__" for n in names}
    return parts


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_pipeline(path):
    own = part_of(path)
    for part in imported_parts(path) - {own, "__init__"}:
        assert RANK[part] < RANK[own], f"{own} imports {part}"


def test_every_part_has_a_place_in_the_pipeline():
    assert {part_of(p) for p in MODULES} == set(RANK)


def test_the_package_does_not_import_its_front_ends():
    text = (PACKAGE / "__init__.py").read_text()
    assert "cli" not in text and "integrations" not in text
