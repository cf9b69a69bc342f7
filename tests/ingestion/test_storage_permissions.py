"""Uploads kept by ``LocalStorage`` are the owner's only: folders 0700, files 0600, any umask.

Each case runs in a child process started with umask 0, the least forgiving one, so the modes
come from the storage and not from the environment the tests happen to run in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

STORE = """
import json, sys
from pathlib import Path
from ingestion.storage import LocalStorage

root = Path(sys.argv[1])
storage = LocalStorage(root)
writer = storage.writer()
writer.write(b"private upload")
staging = [p for p in (root / ".staging").iterdir()]
staged_modes = [p.stat().st_mode & 0o777 for p in staging]
staged = writer.finish()
storage.commit(staged)
modes = {
    str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]
}
print(json.dumps({"key": staged.key, "staged": staged_modes, "modes": modes}))
"""


def store_one(root: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", STORE, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        umask=0,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("nested", [False, True], ids=["root", "root-with-missing-parents"])
def test_uploads_are_private_whatever_the_umask(tmp_path: Path, nested: bool) -> None:
    root = tmp_path / "a" / "b" / "files" if nested else tmp_path / "files"
    found = store_one(root)
    key = str(found["key"])
    assert found["staged"] == [0o600]
    modes = found["modes"]
    assert isinstance(modes, dict)
    assert modes == {
        ".": 0o700,
        ".staging": 0o700,
        key[:2]: 0o700,
        f"{key[:2]}/{key[2:4]}": 0o700,
        f"{key[:2]}/{key[2:4]}/{key}": 0o600,
    }


def test_a_store_left_world_readable_is_tightened_at_start(tmp_path: Path) -> None:
    """An older release made the folders with the umask's modes (0755 and 0644 files)."""
    root = tmp_path / "files"
    (root / ".staging").mkdir(parents=True)
    old = root / "ab" / "cd" / ("abcd" + "0" * 60)
    old.parent.mkdir(parents=True)
    old.write_bytes(b"stored before")
    for path in (root, root / ".staging", root / "ab", old.parent):
        path.chmod(0o755)
    old.chmod(0o644)
    found = store_one(root)
    modes = found["modes"]
    assert isinstance(modes, dict)
    assert modes["."] == 0o700  # nobody else can reach what is below it
    assert modes[".staging"] == 0o700
