"""``ragway keys ...`` as a subprocess against the session's Postgres and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gateway.entry.cli import main


def ragway(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command", ["bootstrap", "create", "list", "get", "update", "rotate", "revoke", "delete"]
)
def test_help(command: str) -> None:
    result = CliRunner().invoke(main, ["keys", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_key_lifecycle_from_the_shell(stack_env: dict[str, str]) -> None:
    created = ragway(
        stack_env,
        *("create", "--name", "cli-key", "--owner", "cli-team", "--rpm", "30"),
        *("--model", "gpt-*", "--model", "chat", "--metadata", '{"ticket": 7}'),
    )
    assert created.returncode == 0, created.stderr
    record = json.loads(created.stdout)
    assert record["key"].startswith(record["display_prefix"])
    assert (record["rpm"], record["allowed_models"]) == (30, ["gpt-*", "chat"])
    assert record["metadata"] == {"ticket": 7}
    key_id = record["id"]

    listed = ragway(stack_env, "list", "--owner", "cli-team", "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [key_id]
    assert "key" not in json.loads(listed.stdout.splitlines()[0])

    updated = json.loads(
        ragway(stack_env, "update", key_id, "--rpm", "none", "--tpm", "900").stdout
    )
    assert (updated["rpm"], updated["tpm"]) == (None, 900)
    rotated = json.loads(ragway(stack_env, "rotate", key_id).stdout)
    assert rotated["key"] != record["key"]
    revoked = json.loads(ragway(stack_env, "revoke", key_id).stdout)
    assert revoked["revoked_at"] is not None
    assert json.loads(ragway(stack_env, "get", key_id).stdout)["revoked_at"] is not None
    deleted = ragway(stack_env, "delete", key_id, "--yes")
    assert deleted.returncode == 0
    missing = ragway(stack_env, "get", key_id)
    assert missing.returncode == 1
    assert f"no API key with id '{key_id}'" in missing.stderr


def test_bad_options_are_reported_without_traceback(stack_env: dict[str, str]) -> None:
    result = ragway(stack_env, "create", "--name", "x", "--rpm", "0")
    assert result.returncode == 2
    assert "rpm" in result.stderr
    assert "Traceback" not in result.stderr
    result = ragway({**stack_env, "REDIS_URL": ""}, "list")
    assert "Traceback" not in result.stderr


def test_bootstrap_still_works(stack_env: dict[str, str]) -> None:
    result = ragway(stack_env, "bootstrap")
    assert result.returncode == 0, result.stderr
    assert "admin key" in result.stdout


def test_rotating_a_revoked_key_is_refused_from_the_shell(stack_env: dict[str, str]) -> None:
    record = json.loads(ragway(stack_env, "create", "--name", "cli-dead").stdout)
    assert ragway(stack_env, "revoke", record["id"]).returncode == 0
    rotated = ragway(stack_env, "rotate", record["id"])
    assert rotated.returncode == 1
    assert "is revoked; a revoked key cannot be rotated" in rotated.stderr
    assert "sk-rgw-" not in rotated.stdout
    assert "Traceback" not in rotated.stderr


def test_list_shows_a_short_prefix(stack_env: dict[str, str]) -> None:
    record = json.loads(
        ragway(stack_env, "create", "--name", "cli-short", "--owner", "cli-s").stdout
    )
    listed = ragway(stack_env, "list", "--owner", "cli-s").stdout
    assert f"{record['key'][:11]}..." in listed
    assert record["key"][:12] not in listed


@pytest.mark.parametrize("weak", ["Admin-Key-2024-prod!", "x" * 80])
def test_bootstrap_refuses_a_weak_admin_key_naming_the_rule(
    stack_env: dict[str, str], weak: str
) -> None:
    result = ragway({**stack_env, "RAGWAY_ADMIN_KEY": weak}, "bootstrap")
    assert result.returncode == 1
    assert "RAGWAY_ADMIN_KEY is too easy to guess" in result.stderr
    assert "at least 128 bits of entropy" in result.stderr
    assert weak not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
