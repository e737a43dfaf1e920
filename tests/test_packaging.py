"""The wheel carries the templates and the catalogue, so an installed derive works anywhere."""
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import OUTPUT, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    where = tmp_path_factory.mktemp("wheel")
    process = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where), str(ROOT)],
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr
    return next(where.glob("derive-*.whl"))


def test_wheel_contains_templates_and_examples(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("derive/templates/derivation.tex", "derive/templates/derivation.md",
                 "derive/templates/reasons.j2", "derive/examples/softmax-cross-entropy.toml"):
        assert name in names


def test_installed_derive_builds_outside_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    environment = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import derive.render.environment as r; print(r.template_dir())"],
                           cwd=tmp_path, env=environment, capture_output=True, text=True).stdout.strip()
    assert where == str(site / "derive" / "templates")
    process = subprocess.run([sys.executable, "-m", "derive", "build", "--out", "docs"], cwd=tmp_path,
                             env=environment, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr
    built = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert built == sorted(p.name for p in OUTPUT.iterdir())
    assert (tmp_path / "docs" / "softmax-cross-entropy.md").read_text() == \
        (OUTPUT / "softmax-cross-entropy.md").read_text()
