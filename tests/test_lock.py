"""The committed lock, pyproject.toml and this venv agree (a fresh machine installs the lock).

Each failure says what disagrees and that ``make lock`` is the way to move the lock.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from tests.support.lockfile import (
    EXCLUDED,
    LOCK,
    PROJECT,
    installed,
    needed_closure,
    project_requirements,
    read_lock,
)

_MOVE = "run `make lock` (then `make test`) and commit the lock with pyproject.toml"


def test_every_pin_is_exact_and_hashed() -> None:
    pins = read_lock()  # raises on a line that is not name==version with hashes
    assert len(pins) > 100
    assert all(pin.hashes >= 1 for pin in pins.values())
    assert not EXCLUDED & set(pins), "torchvision must stay out of the lock (CPU torch)"


def test_the_cpu_torch_is_locked() -> None:
    assert read_lock()[canonicalize_name("torch")].version.endswith("+cpu")


def test_everything_pyproject_asks_for_is_locked_within_its_range() -> None:
    pins = read_lock()
    problems = []
    for requirement in project_requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is in pyproject.toml but not in {LOCK.name}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{LOCK.name} pins {pin.name}=={pin.version}, outside {requirement}")
    assert not problems, "; ".join(problems) + f": {_MOVE}"


def test_the_lock_pins_nothing_pyproject_does_not_need() -> None:
    needed, absent = needed_closure(project_requirements())
    assert not absent, f"required but not installed from {LOCK.name}: {sorted(absent)}: {_MOVE}"
    stale = sorted(set(read_lock()) - needed - {PROJECT})
    assert not stale, f"{LOCK.name} pins {stale}, which nothing in pyproject.toml needs: {_MOVE}"


def test_this_venv_is_exactly_the_lock() -> None:
    pins = read_lock()
    present = installed()
    wrong = sorted(
        f"{name} {present.get(name, 'missing')} (lock: {pin.version})"
        for name, pin in pins.items()
        if present.get(name) != pin.version
    )
    extra = sorted(set(present) - set(pins) - {PROJECT})
    assert not wrong, f"installed versions differ from {LOCK.name}: {wrong}; run `make venv`"
    assert not extra, f"installed but not in {LOCK.name}: {extra}; run `make venv`"
