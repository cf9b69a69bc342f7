"""``configs/requirements.lock`` read as data, and compared with pyproject.toml and the venv.

The lock pins every package ``.venv`` holds (runtime, dev extras and the build backend), each
with its hashes; ``make`` installs exactly it (``pip install --no-deps --require-hashes``).
``python -m tests.support.lockfile prune`` then removes what an older lock installed and this
one no longer pins, so a venv that lived through a lock change equals a fresh one, and writes
the bytecode pip was told not to (``--no-compile``): on every core at once, where pip compiles
one file after another (on two cores: ~125 s for install and bytecode instead of ~160 s).
"""

from __future__ import annotations

import compileall
import re
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "configs" / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
PROJECT = canonicalize_name("ragway")
# Left out of the lock on purpose (pip-compile --unsafe-package): unstructured[pdf] -> timm
# asks for torchvision, whose only build here is a CUDA one that breaks the CPU torch; the
# fast PDF path never imports it (../shared/DEPENDENCY-NOTES.md).
EXCLUDED = frozenset({canonicalize_name("torchvision")})

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
_HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    name: NormalizedName
    version: str
    hashes: int


class LockError(Exception):
    """A line of the lock is not ``name==version`` with its hashes."""


def read_lock(path: Path = LOCK) -> dict[NormalizedName, Pin]:
    """Every pin of the lock by normalized name."""
    pins: dict[NormalizedName, Pin] = {}
    logical = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        logical += " " + line.removesuffix("\\")
        if line.endswith("\\"):
            continue
        parts = logical.split()
        logical = ""
        match = _PIN.match(parts[0])
        if match is None or not parts[1:] or not all(_HASH.match(p) for p in parts[1:]):
            raise LockError(f"{path.name}:{number}: not `name==version --hash=sha256:...`")
        name = canonicalize_name(match[1])
        pins[name] = Pin(name, match[2], len(parts) - 1)
    return pins


def project_requirements(path: Path = PYPROJECT) -> list[Requirement]:
    """What pyproject.toml asks for: dependencies, every optional extra, the build backend."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    project = data["project"]
    texts = [*project["dependencies"], *data["build-system"]["requires"]]
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    return [Requirement(text) for text in texts]


def needed_closure(requirements: list[Requirement]) -> tuple[set[NormalizedName], set[str]]:
    """Every distribution ``requirements`` need, walked through the installed metadata, and
    the requirements no installed distribution satisfies (by name)."""
    seen: set[NormalizedName] = set()
    absent: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    visited: set[tuple[NormalizedName, frozenset[str]]] = set()
    base = {str(k): str(v) for k, v in default_environment().items()}
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in EXCLUDED or (name, extras) in visited:
            continue
        visited.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            absent.add(name)
            continue
        seen.add(name)
        for text in dist.requires or ():
            child = Requirement(text)
            wanted = ("", *extras)
            if child.marker is not None and not any(
                child.marker.evaluate({**base, "extra": e}) for e in wanted
            ):
                continue
            todo.append((child, frozenset(child.extras)))
    return seen, absent


def installed() -> dict[NormalizedName, str]:
    """Every distribution in this interpreter's environment, by normalized name."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def prune() -> list[str]:
    """Uninstall what this environment holds and the lock does not pin; the names removed."""
    pins = read_lock()
    extra: list[str] = sorted(n for n in installed() if n not in pins and n != PROJECT)
    if extra:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", *extra], check=True)
    return extra


def compile_bytecode() -> None:
    """Byte-compile the environment's packages in parallel. Sources that are not Python 3
    (olefile's olefile2.py, test data) fail as they do under pip, which skips them too; a
    file already compiled is left alone."""
    for folder in sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}):
        compileall.compile_dir(folder, quiet=2, workers=0)


if __name__ == "__main__":
    if sys.argv[1:] != ["prune"]:
        raise SystemExit("usage: python -m tests.support.lockfile prune")
    removed = prune()
    if removed:
        print(f"removed what the lock no longer pins: {', '.join(removed)}")
    compile_bytecode()
