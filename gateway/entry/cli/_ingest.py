"""``ragway ingest PATH... --store NAME``: upload files or folders into a vector store."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from gateway.entry.cli._context import CliContext, pass_cli
from gateway.entry.runtime import StackFile
from ingestion.parsing import SUPPORTED_EXTENSIONS

__all__ = ["ingest_command"]


@dataclass
class _Summary:
    completed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


class _Api:
    """The few Files / Vector Stores calls the command makes, with errors as ClickExceptions."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the gateway: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise click.ClickException(f"{method} {path}: {response.status_code} {message}")
        return response.json()

    def pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100, "order": "asc"}
        while True:
            page = self.call("GET", path, params=params)
            items.extend(page["data"])
            if not page["has_more"]:
                return items
            params["after"] = page["last_id"]

    def close(self) -> None:
        self._http.close()


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_name", required=True, help="Vector store name (created if new).")
@click.option(
    "--url",
    help="Gateway base URL with /v1 (default: the running stack's, else gateway.host/port).",
)
@click.option("--api-key", envvar="RAGWAY_API_KEY", help="Admin API key (or RAGWAY_API_KEY).")
@click.option("--timeout", "timeout_s", default=600.0, show_default=True, help="Seconds to wait.")
@pass_cli
def ingest_command(
    cli: CliContext,
    paths: tuple[Path, ...],
    store_name: str,
    url: str | None,
    api_key: str | None,
    timeout_s: float,
) -> None:
    """Upload files (folders recursively) into the vector store NAME and wait for ingestion.

    Content already in the store is skipped. Exits non-zero if any file failed.
    """
    key = api_key or os.environ.get("RAGWAY_ADMIN_KEY")
    if not key:
        raise click.ClickException("give an admin key with --api-key or RAGWAY_API_KEY")
    if url is None:
        settings = cli.settings()
        stack = StackFile(settings.data_dir.resolve()).read_running()
        gateway = settings.gateway
        base = stack.gateway_url if stack else f"http://{gateway.host}:{gateway.port}"
        url = f"{base}/v1"
    summary = _Summary()
    files = _collect(paths, summary)
    api = _Api(url, key, timeout_s=60.0)
    try:
        store = _find_or_create(api, store_name)
        present = {
            f["ragway"]["sha256"]
            for f in api.pages(f"/vector_stores/{store}/files")
            if f["status"] in ("completed", "in_progress") and "ragway" in f
        }
        pending = _upload(api, store, files, present, summary)
        _wait(api, store, pending, summary, timeout_s)
    finally:
        api.close()
    _report(summary, store_name)
    if summary.failed:
        raise SystemExit(1)


def _collect(paths: tuple[Path, ...], summary: _Summary) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix.lower() in SUPPORTED_EXTENSIONS:
                found.append(candidate)
            else:
                summary.unsupported.append(str(candidate))
    return found


def _find_or_create(api: _Api, name: str) -> str:
    for store in api.pages("/vector_stores"):
        if store.get("name") == name:
            return str(store["id"])
    return str(api.call("POST", "/vector_stores", json={"name": name})["id"])


def _upload(
    api: _Api, store: str, files: list[Path], present: set[str], summary: _Summary
) -> dict[str, str]:
    pending: dict[str, str] = {}
    with click.progressbar(files, label="uploading", item_show_func=_name) as bar:
        for path in bar:
            digest = _sha256(path)
            if digest in present:
                summary.skipped.append(str(path))
                continue
            with path.open("rb") as handle:
                uploaded = api.call(
                    "POST",
                    "/files",
                    files={"file": (path.name, handle)},
                    data={"purpose": "assistants"},
                )
            api.call("POST", f"/vector_stores/{store}/files", json={"file_id": uploaded["id"]})
            present.add(digest)
            pending[uploaded["id"]] = str(path)
    return pending


def _wait(
    api: _Api, store: str, pending: dict[str, str], summary: _Summary, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = dict(pending)
    with click.progressbar(length=len(pending), label="processing") as bar:
        while waiting:
            if time.monotonic() > deadline:
                for path in waiting.values():
                    summary.failed.append((path, f"still in progress after {timeout_s:.0f}s"))
                return
            for file_id, path in list(waiting.items()):
                state = api.call("GET", f"/vector_stores/{store}/files/{file_id}")
                if state["status"] == "in_progress":
                    continue
                del waiting[file_id]
                bar.update(1)
                if state["status"] == "completed":
                    summary.completed.append(path)
                else:
                    error = state.get("last_error") or {}
                    summary.failed.append((path, error.get("message", state["status"])))
            if waiting:
                time.sleep(0.5)


def _report(summary: _Summary, store_name: str) -> None:
    click.echo(
        f"store {store_name!r}: {len(summary.completed)} completed, {len(summary.failed)} failed, "
        f"{len(summary.skipped)} already present, {len(summary.unsupported)} unsupported"
    )
    for path, reason in summary.failed:
        click.echo(f"  failed: {path}: {reason}", err=True)
    for path in summary.unsupported:
        click.echo(f"  unsupported (not uploaded): {path}", err=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name(path: Path | None) -> str:
    return path.name if path is not None else ""
