"""``stack.json``: written for the owner only, trusted only while its stack holds the run lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from configs import load_settings
from gateway.entry.runtime import RunLock, RunningStack, StackFile, with_running_stack

STACK = RunningStack(
    database_url="postgresql://postgres@/ragway?host=/tmp/x",
    redis_url="redis://127.0.0.1:6390/0",
    gateway_url="http://127.0.0.1:8080",
    pid=4242,
)


def test_written_for_the_owner_only_even_over_a_readable_file(tmp_path: Path) -> None:
    old = tmp_path / "stack.json"
    old.write_text("{}")
    old.chmod(0o644)
    StackFile(tmp_path).write(STACK)
    assert old.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"]  # no temporary file left


def test_read_only_while_the_run_lock_is_held(tmp_path: Path) -> None:
    stack_file = StackFile(tmp_path)
    stack_file.write(STACK)
    assert stack_file.read_running() is None  # no lock file: no stack
    lock = RunLock(tmp_path / "run.lock")
    lock.acquire({})
    try:
        # The lock is held by this process; another process must see it held.
        found = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from gateway.entry.runtime import StackFile;"
                "print(StackFile(Path(sys.argv[1])).read_running())",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "redis://127.0.0.1:6390/0" in found.stdout
        assert "pid=4242" in found.stdout
    finally:
        lock.release()
    assert stack_file.read_running() is None  # a stack that died left the file: ignored


def test_configured_urls_win_and_missing_ones_come_from_the_stack(tmp_path: Path) -> None:
    StackFile(tmp_path).write(STACK)
    lock_holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from gateway.entry.runtime import RunLock;"
            "lock = RunLock(Path(sys.argv[1]) / 'run.lock'); lock.acquire({});"
            "print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert lock_holder.stdout is not None
        assert lock_holder.stdout.readline().strip() == "held"
        env = {"RAGWAY_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://elsewhere:6379/0"}
        settings, stack = with_running_stack(load_settings(env=env))
        assert stack == STACK
        assert settings.database.url is not None
        assert settings.database.url.get_secret_value() == STACK.database_url
        assert settings.redis.url is not None
        assert settings.redis.url.get_secret_value() == "redis://elsewhere:6379/0"

        both = {**env, "DATABASE_URL": "postgresql://db/ragway"}
        settings, stack = with_running_stack(load_settings(env=both))
        assert stack is None
        assert settings.database.url is not None
        assert settings.database.url.get_secret_value() == "postgresql://db/ragway"
    finally:
        lock_holder.kill()
        lock_holder.wait()
    assert os.path.exists(tmp_path / "stack.json")
    assert with_running_stack(load_settings(env=env))[1] is None
