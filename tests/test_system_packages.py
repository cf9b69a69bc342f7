"""``make run`` installs the Debian packages the configuration needs: ``ragway config
system-packages`` names what this host lacks for OCR (Tesseract, each language's data), and
the Makefile's ``run-packages`` installs those as root or through sudo, or prints the command.

Tesseract, ``apt-get``, ``id`` and ``sudo`` are small scripts on a PATH of the test's own, so
the host's packages are never touched; the command and the Makefile are the real ones.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LISTED = 'List of available languages in "/usr/share/tesseract-ocr/5/tessdata/" (2):\neng\nosd\n'


def script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    """A folder for stand-ins of the host's commands, first on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def env_for(fakes: Path, languages: list[str], *, enabled: bool = True) -> dict[str, str]:
    return {
        "PATH": f"{fakes}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "RAGWAY_INGESTION__PARSING__OCR__LANGUAGES": json.dumps(languages),
        "RAGWAY_INGESTION__PARSING__OCR__ENABLED": json.dumps(enabled),
    }


def missing(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "config", "system-packages"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_without_tesseract_it_names_tesseract_and_every_language(tmp_path: Path) -> None:
    env = env_for(tmp_path, ["eng", "chi_sim"])
    env["PATH"] = str(tmp_path)  # no tesseract anywhere
    assert missing(env) == ["tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-chi-sim"]


def test_it_names_only_the_languages_tesseract_lacks(fakes: Path) -> None:
    script(fakes, "tesseract", f"printf '{LISTED}'")
    assert missing(env_for(fakes, ["eng", "deu", "chi_sim"])) == [
        "tesseract-ocr-deu",
        "tesseract-ocr-chi-sim",
    ]
    assert missing(env_for(fakes, ["eng"])) == []


def test_with_ocr_off_nothing_is_needed(tmp_path: Path) -> None:
    env = env_for(tmp_path, ["eng"], enabled=False)
    env["PATH"] = str(tmp_path)
    assert missing(env) == []


def run_packages(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    # -o: whatever the stamp's age, make must not rebuild the venv the tests run in
    keep_venv = ["-o", ".venv/.ragway-installed"]
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), *keep_venv, "run-packages", f"BIN={bin_dir}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_as_root_make_installs_what_is_missing(fakes: Path, tmp_path: Path) -> None:
    calls = tmp_path / "apt-calls"
    script(fakes, "tesseract", f"printf '{LISTED}'")
    script(fakes, "id", "echo 0")
    script(fakes, "apt-get", f'echo "$DEBIAN_FRONTEND $*" >> {calls}')
    done = run_packages(env_for(fakes, ["eng", "deu"]))
    assert done.returncode == 0, done.stderr
    assert "installing Debian packages for OCR: tesseract-ocr-deu" in done.stdout
    assert calls.read_text().splitlines() == [
        "noninteractive update -qq",
        "noninteractive install -y -qq --no-install-recommends tesseract-ocr-deu",
    ]


def test_without_root_or_sudo_make_prints_the_command_and_goes_on(
    fakes: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "apt-calls"
    script(fakes, "tesseract", f"printf '{LISTED}'")
    script(fakes, "id", "echo 1000")
    script(fakes, "sudo", "exit 1")  # a password would be asked for
    script(fakes, "apt-get", f'echo "$*" >> {calls}')
    done = run_packages(env_for(fakes, ["eng", "deu"]))
    assert done.returncode == 0, done.stderr
    assert "sudo apt-get install tesseract-ocr-deu" in done.stdout
    assert not calls.exists()


def test_with_nothing_missing_make_is_silent(fakes: Path, tmp_path: Path) -> None:
    calls = tmp_path / "apt-calls"
    script(fakes, "tesseract", f"printf '{LISTED}'")
    script(fakes, "id", "echo 0")
    script(fakes, "apt-get", f'echo "$*" >> {calls}')
    done = run_packages(env_for(fakes, ["eng"]))
    assert (done.returncode, done.stdout) == (0, "")
    assert not calls.exists()
