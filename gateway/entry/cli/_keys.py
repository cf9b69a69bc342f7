"""``ragway keys``: the admin API's key management from a shell (same service, same rules)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError

from configs import Settings, SettingsError
from gateway.entry.cli._context import CliContext, pass_cli
from gateway.platform.errors import GatewayError
from gateway.platform.urls import require_database_url, require_urls
from gateway.policy.auth import RedisKeyEvents, key_change_channel
from gateway.policy.keys import KeyCreate, KeyService, KeyUpdate, ensure_admin_key, key_label
from ingestion.db import open_pool
from ingestion.redis_clients import RedisConnector

__all__ = ["keys_group"]

T = TypeVar("T")
_NONE = "none"


@click.group("keys")
def keys_group() -> None:
    """API keys: create, list, get, update, rotate, revoke, delete (needs DATABASE_URL and
    REDIS_URL: running gateways hear about every change at once)."""


@keys_group.command("bootstrap")
@pass_cli
def bootstrap_command(cli: CliContext) -> None:
    """Create the first admin key if none exists (or register RAGWAY_ADMIN_KEY)."""
    settings = cli.settings()
    try:
        database_url = require_database_url(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    admin = settings.admin_key.get_secret_value() if settings.admin_key else None
    try:
        result = asyncio.run(ensure_admin_key(database_url, admin))
    except SettingsError as exc:  # RAGWAY_ADMIN_KEY too easy to guess
        raise click.ClickException(str(exc)) from exc
    if result.plaintext:
        click.echo(f"created admin key (shown once): {result.plaintext}")
    elif result.created:
        click.echo(f"registered the admin key in RAGWAY_ADMIN_KEY as {result.key_id}")
    else:
        click.echo(f"admin key {result.label} is in place")


def _run(cli: CliContext, action: Callable[[KeyService], Awaitable[T]]) -> T:
    settings: Settings = cli.settings()
    try:
        database_url, redis_url = require_urls(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> T:
        pool = await open_pool(database_url, settings.database, application_name="ragway-cli")
        redis = RedisConnector.from_settings(settings.redis, url=redis_url).async_client()
        try:
            await pool.wait(timeout=settings.database.connect_timeout_s)
            channel = key_change_channel(settings.redis.key_prefix)
            return await action(KeyService(pool, events=RedisKeyEvents(redis, channel=channel)))
        finally:
            await redis.aclose()
            await pool.close()

    try:
        return asyncio.run(main())
    except GatewayError as exc:
        raise click.ClickException(exc.message) from exc


def _echo(model: BaseModel) -> None:
    click.echo(json.dumps(model.model_dump(mode="json"), indent=2))


def _limit(value: str | None) -> int | str | None:
    return None if value is None or value.lower() == _NONE else value


def _fields(options: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line, by field name ('none' clears a value)."""
    fields: dict[str, Any] = {}
    for name, value in options.items():
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            fields[name] = list(value)
        elif name == "metadata":
            try:
                fields[name] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"not JSON: {exc}", param_hint="--metadata") from exc
        else:
            fields[name] = _limit(value) if isinstance(value, str) else value
    return fields


def _validated(model: type[T], fields: dict[str, Any]) -> T:
    try:
        return model.model_validate(fields)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise click.UsageError(problems) from exc


def _allowance_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--owner"),
        click.option("--model", "allowed_models", multiple=True, help="glob; repeatable"),
        click.option("--tool", "allowed_tools", multiple=True, help="glob; repeatable"),
        click.option(
            "--collection", "readable_collections", multiple=True, help="glob; repeatable"
        ),
        click.option("--rpm", help="requests per minute ('none': no limit)"),
        click.option("--tpm", help="tokens per minute ('none': no limit)"),
        click.option("--tokens-per-day", help="('none': no limit)"),
        click.option("--budget-usd", "monthly_budget_usd", help="USD per calendar month"),
        click.option("--pii-policy", help="override of the deployment's PII policy"),
        click.option("--expires-at", help="ISO 8601 with a time zone ('none': never)"),
        click.option("--metadata", help="JSON object"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@keys_group.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["member", "admin"]), default="member")
@_allowance_options
@pass_cli
def create_command(cli: CliContext, /, **options: Any) -> None:
    """Create a key and print it with its secret (shown this once)."""
    spec = _validated(KeyCreate, _fields(options))
    _echo(_run(cli, lambda keys: keys.create(spec)))


@keys_group.command("list")
@click.option("--include-revoked", is_flag=True)
@click.option("--owner")
@click.option("--role", type=click.Choice(["member", "admin"]))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_cli
def list_command(
    cli: CliContext, include_revoked: bool, owner: str | None, role: str | None, as_json: bool
) -> None:
    """List keys (never their secrets)."""
    records = _run(
        cli,
        lambda keys: keys.list(include_revoked=include_revoked, owner=owner, role=role, limit=1000),
    )
    for record in records:
        if as_json:
            click.echo(json.dumps(record.model_dump(mode="json")))
        else:
            state = "revoked" if record.revoked_at else "active"
            shown = key_label(record.display_prefix)
            click.echo(f"{record.id}  {shown:<14}  {record.role:<6}  {state:<7}  {record.name}")


@keys_group.command("get")
@click.argument("key_id")
@pass_cli
def get_command(cli: CliContext, key_id: str) -> None:
    """Show one key."""
    _echo(_run(cli, lambda keys: keys.get(key_id)))


@keys_group.command("update")
@click.argument("key_id")
@click.option("--name")
@click.option("--role", type=click.Choice(["member", "admin"]))
@_allowance_options
@pass_cli
def update_command(cli: CliContext, /, key_id: str, **options: Any) -> None:
    """Change the options given; 'none' clears a limit, expiry or owner."""
    change = _validated(KeyUpdate, _fields(options))
    _echo(_run(cli, lambda keys: keys.update(key_id, change)))


@keys_group.command("rotate")
@click.argument("key_id")
@pass_cli
def rotate_command(cli: CliContext, key_id: str) -> None:
    """Give the key a new secret (printed this once); the old one stops working.

    A revoked or expired key is refused: its new secret would not work."""
    _echo(_run(cli, lambda keys: keys.rotate(key_id)))


@keys_group.command("revoke")
@click.argument("key_id")
@pass_cli
def revoke_command(cli: CliContext, key_id: str) -> None:
    """Revoke the key; it stays listed (with --include-revoked) for its usage history."""
    _echo(_run(cli, lambda keys: keys.revoke(key_id)))


@keys_group.command("delete")
@click.argument("key_id")
@click.confirmation_option(prompt="Delete this key for good?")
@pass_cli
def delete_command(cli: CliContext, key_id: str) -> None:
    """Delete the key."""
    _run(cli, lambda keys: keys.delete(key_id))
    click.echo(f"deleted {key_id}")
