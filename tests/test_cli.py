"""Every ``ragway`` command answers ``--help``; the console entry point is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

COMMANDS = [
    [],
    ["run"],
    ["gateway"],
    ["worker"],
    ["db"],
    ["db", "migrate"],
    ["db", "status"],
    ["config", "check"],
    ["config", "system-packages"],
    ["keys", "bootstrap"],
    ["inference"],
    ["inference", "serve"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ragway")
def test_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_console_script_is_installed() -> None:
    script = shutil.which("ragway", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "ragway" in result.stdout


def test_config_error_is_reported_without_traceback(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "config", "check"],
        env={"RAGWAY_GATEWAY__PORT": "not-a-port", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "environment variable RAGWAY_GATEWAY__PORT: 'gateway.port'" in result.stderr
    assert "Traceback" not in result.stderr
