"""The built wheel holds every data file the code reads at run time, not only the modules.

An editable install (``make``) reads them from the checkout, so nothing else would notice a
wheel without its migrations or Lua scripts until a user installed one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = ("*.sql", "*.lua", "*.yaml", "*.html", "*.css", "*.js", "*.LICENSE")
PACKAGES = ("configs", "gateway", "ingestion", "inference")


def _checkout_copy(into: Path) -> Path:
    """The files git would commit (tracked, and untracked not ignored): no stale build/."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def test_the_wheel_holds_every_data_file_of_the_packages(tmp_path: Path) -> None:
    source = _checkout_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--wheel-dir", str(dist), str(source)], check=True, timeout=300)
    (wheel,) = dist.glob("ragway-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(path.relative_to(REPO))
        for package in PACKAGES
        for pattern in DATA
        for path in (REPO / package).rglob(pattern)
        if "__pycache__" not in path.parts and "docker" not in path.parts
    }
    assert expected, "no data files found: the patterns are wrong"
    assert sorted(expected - packed) == []
