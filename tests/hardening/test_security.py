"""Security: SQL injection in every string a query touches, access across keys, admin routes
with member keys, and API keys in the gateway's log (they must never be there)."""

from __future__ import annotations

import json
import subprocess
from typing import Any
from urllib.parse import quote

import httpx
import openai
import psycopg
import pytest
from openai import OpenAI

from tests.hardening.conftest import UPSTREAM_KEY, Gateway, Keys, bearer, client

INJECTIONS = (
    "' OR '1'='1",
    "x'; DROP TABLE api_keys; --",
    '") OR 1=1 --',
    "1; SELECT pg_sleep(5)--",
    "' UNION SELECT key_hash, id, name FROM api_keys --",
    "%' OR key_hash LIKE '%",
    "\\'; DELETE FROM files; --",
    "$1",
    "'::jsonb) OR TRUE --",
    "a\x00b",
)


@pytest.fixture(scope="module")
def admin(gateway: Gateway, keys: Keys, worker: subprocess.Popen[bytes]) -> OpenAI:
    return client(gateway, keys.admin)


@pytest.fixture(scope="module")
def stores(admin: OpenAI) -> dict[str, str]:
    """A store the member may read and one it may not, each with one ingested file."""
    made = {}
    for name, text in (
        ("shared-sec", "The shared store talks about copper kettles and tea."),
        ("other-secret", "The secret store holds the launch code PLATYPUS-42."),
    ):
        store = admin.vector_stores.create(name=name, metadata={"owner": name})
        uploaded = admin.files.create(file=(f"{name}.txt", text.encode()), purpose="assistants")
        done = admin.vector_stores.files.create_and_poll(
            vector_store_id=store.id,
            file_id=uploaded.id,
            attributes={"team": name, "level": 3},
            poll_interval_ms=200,
        )
        assert done.status == "completed", done.last_error
        made[name] = store.id
        made[f"{name}-file"] = uploaded.id
    return made


def table_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("api_keys", "files", "vector_stores", "chunks")
        }


def not_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


def test_sql_injection_in_every_string_a_query_touches(
    gateway: Gateway, keys: Keys, stores: dict[str, str], hardening_database_url: str
) -> None:
    before = table_counts(hardening_database_url)
    http = httpx.Client(base_url=gateway.url, timeout=30)
    shared = stores["shared-sec"]
    for evil in INJECTIONS:
        path = quote(evil, safe="")
        for key in (keys.admin, keys.member):
            auth = bearer(key)
            for url in (
                f"/v1/vector_stores/{path}",
                f"/v1/vector_stores/{path}/files",
                f"/v1/vector_stores/{shared}/files/{path}",
                f"/v1/vector_stores/{path}/file_batches/{path}",
                f"/v1/files/{path}",
                f"/v1/files/{path}/content",
                f"/v1/models/{path}",
                f"/admin/keys/{path}",
            ):
                response = http.get(url, headers=auth)
                not_5xx(response)
                assert response.status_code in (400, 403, 404), (url, response.text)
            for params in (
                {"after": evil},
                {"before": evil},
                {"order": evil},
                {"limit": evil},
                {"filter": evil},
                {"purpose": evil},
            ):
                for url in ("/v1/vector_stores", f"/v1/vector_stores/{shared}/files", "/v1/files"):
                    response = http.get(url, params=params, headers=auth)
                    not_5xx(response)
                    if response.status_code == 200:
                        assert response.json()["data"] == [] or "after" not in params
            for url, names in (
                ("/admin/usage", ("key_id", "model", "group_by", "start")),
                ("/admin/keys", ("owner", "role")),
                ("/admin/audit", ("kind", "key_id", "subject", "decision", "before", "since")),
            ):
                for name in names:
                    response = http.get(url, params={name: evil}, headers=auth)
                    not_5xx(response)
                    if key == keys.member:
                        assert response.status_code == 403, response.text
                    elif response.status_code == 200:
                        assert response.json()["data"] == [], (url, name, response.text)
            for filters in (
                {"type": "eq", "key": evil, "value": "x"},
                {"type": "eq", "key": "team", "value": evil},
                {"type": "in", "key": "team", "value": [evil, "shared-sec"]},
                {"type": "gt", "key": evil, "value": 1},
                {"type": "and", "filters": [{"type": "ne", "key": evil, "value": evil}]},
                {"type": evil, "key": "team", "value": "x"},
            ):
                response = http.post(
                    f"/v1/vector_stores/{shared}/search",
                    json={"query": "kettles", "filters": filters},
                    headers=auth,
                )
                not_5xx(response)
                if response.status_code == 200:
                    hits = response.json()["data"]
                    assert all(h["file_id"] == stores["shared-sec-file"] for h in hits), hits
                    assert "PLATYPUS" not in response.text
            response = http.post(
                "/v1/vector_stores/" + shared + "/search", json={"query": evil}, headers=auth
            )
            not_5xx(response)
            assert "PLATYPUS" not in response.text
        # names, metadata keys and values, attributes: stored as given, read back as given
        created = http.post(
            "/v1/vector_stores",
            json={"name": f"shared-{evil}", "metadata": {evil[:64]: evil}},
            headers=bearer(keys.admin),
        )
        not_5xx(created)
        if created.status_code == 200:
            body = created.json()
            assert body["name"] == f"shared-{evil}"
            assert body["metadata"] == {evil[:64]: evil}
            back = http.get(f"/v1/vector_stores/{body['id']}", headers=bearer(keys.admin))
            assert back.json()["name"] == f"shared-{evil}"
            not_5xx(http.delete(f"/v1/vector_stores/{body['id']}", headers=bearer(keys.admin)))
        modified = http.post(
            f"/v1/vector_stores/{shared}/files/{stores['shared-sec-file']}",
            json={"attributes": {"team": evil[:512]}},
            headers=bearer(keys.admin),
        )
        not_5xx(modified)
        created_key = http.post(
            "/admin/keys", json={"name": evil, "owner": evil}, headers=bearer(keys.admin)
        )
        not_5xx(created_key)
        if created_key.status_code == 201:
            not_5xx(
                http.delete(f"/admin/keys/{created_key.json()['id']}", headers=bearer(keys.admin))
            )
    after = table_counts(hardening_database_url)
    assert after == before


def test_a_member_cannot_reach_other_stores_or_any_file(
    gateway: Gateway, keys: Keys, stores: dict[str, str]
) -> None:
    member = client(gateway, keys.member)
    secret, secret_file = stores["other-secret"], stores["other-secret-file"]
    missing = "vs_" + "0" * 24
    for store_id in (secret, missing):
        with pytest.raises(openai.NotFoundError):
            member.vector_stores.retrieve(store_id)
        with pytest.raises(openai.NotFoundError):
            member.vector_stores.search(vector_store_id=store_id, query="launch code")
        with pytest.raises(openai.NotFoundError):
            member.vector_stores.files.list(vector_store_id=store_id)
        with pytest.raises(openai.NotFoundError):
            member.vector_stores.files.retrieve(vector_store_id=store_id, file_id=secret_file)
        with pytest.raises((openai.NotFoundError, openai.PermissionDeniedError)):
            member.vector_stores.delete(store_id)
        with pytest.raises((openai.NotFoundError, openai.PermissionDeniedError)):
            member.vector_stores.update(store_id, name="shared-stolen")
    # the store's file through a store the member may read: not there
    with pytest.raises(openai.NotFoundError):
        member.vector_stores.files.retrieve(
            vector_store_id=stores["shared-sec"], file_id=secret_file
        )
    # Another key's file does not exist for a member: the same 404 whether the id exists or
    # not (no existence oracle)
    answers = []
    for file_id in (secret_file, "file-" + "0" * 24):
        for call in (member.files.retrieve, member.files.content, member.files.delete):
            with pytest.raises(openai.NotFoundError) as denied:
                call(file_id)
            answers.append(denied.value.message.replace(file_id, "<id>"))
    assert len(set(answers)) <= 3
    assert all(s.id != secret for s in member.vector_stores.list(limit=100).data)
    hits = member.vector_stores.search(vector_store_id=stores["shared-sec"], query="launch code")
    assert all("PLATYPUS" not in h.content[0].text for h in hits.data)
    # the other store still exists for its reader
    assert client(gateway, keys.admin).vector_stores.retrieve(secret).id == secret


def admin_operations(gateway: Gateway) -> list[tuple[str, str]]:
    document = httpx.get(f"{gateway.url}/openapi/openapi.json", timeout=30).json()
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/admin")
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]
    assert len(found) >= 8, found
    return found


def test_admin_routes_refuse_member_keys(gateway: Gateway, keys: Keys) -> None:
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for method, path in admin_operations(gateway):
            url = path.replace("{key_id}", keys.admin_id)
            for headers, status in (
                (bearer(keys.member), 403),
                (bearer(keys.other), 403),
                ({}, 401),
                (bearer("sk-rgw-" + "A" * 40), 401),
            ):
                response = http.request(method, url, headers=headers, json={})
                assert response.status_code == status, (method, url, response.text)
                assert response.json()["error"]["message"]
    # the admin key the members aimed at still works, unchanged
    response = httpx.get(f"{gateway.url}/admin/keys/{keys.admin_id}", headers=bearer(keys.admin))
    assert response.status_code == 200
    assert response.json()["revoked_at"] is None


def test_api_keys_never_appear_in_the_log(
    gateway: Gateway, keys: Keys, stores: dict[str, str]
) -> None:
    invalid = "sk-rgw-" + "Z9" * 20
    created = httpx.post(
        f"{gateway.url}/admin/keys", json={"name": "log-check"}, headers=bearer(keys.admin)
    )
    assert created.status_code == 201, created.text
    fresh = created.json()["key"]
    rotated = httpx.post(
        f"{gateway.url}/admin/keys/{created.json()['id']}/rotate", headers=bearer(keys.admin)
    ).json()["key"]
    secrets = [keys.admin, keys.member, keys.other, invalid, fresh, rotated, UPSTREAM_KEY]
    chat = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for secret in secrets:
            variants: list[dict[str, Any]] = [
                {"headers": bearer(secret)},
                {"headers": {"Authorization": secret}},
                {"headers": {"Authorization": f"Basic {secret}"}},
                {"headers": {"api-key": secret, "x-api-key": secret}},
                {"headers": {**bearer(keys.member), "X-Request-ID": secret}},
                {"headers": bearer(keys.member), "params": {"api_key": secret}},
            ]
            for variant in variants:
                http.post("/v1/chat/completions", json=chat, **variant)
                http.get("/v1/models", **variant)
                http.get(f"/v1/vector_stores/{stores['shared-sec']}", **variant)
                http.get("/admin/usage", **variant)
            bodies = [
                {"model": "chat", "messages": [{"role": "user", "content": f"my key {secret}"}]},
                {"model": "chat", "messages": "broken", "api_key": secret},
                {"model": secret, "messages": [{"role": "user", "content": "x"}]},
                {"model": "chat", "messages": [{"role": "user", "content": "x"}], "user": secret},
            ]
            for body in bodies:
                http.post("/v1/chat/completions", json=body, headers=bearer(keys.member))
            http.post(
                "/v1/chat/completions",
                content=b'{"model": "chat", "messages": [' + secret.encode(),
                headers={**bearer(keys.member), "content-type": "application/json"},
            )
            http.post(
                "/v1/embeddings", json={"model": "embed", "input": secret}, headers=bearer(secret)
            )
            http.post(
                "/v1/vector_stores",
                json={"name": secret, "metadata": {"k": secret}},
                headers=bearer(secret),
            )
            http.post("/admin/keys", json={"name": secret, "owner": secret}, headers=bearer(secret))
    text = gateway.log_text()
    assert '"level":"debug"' in text or '"level":"info"' in text, "the log was not captured"
    lines = text.splitlines()
    for secret in secrets:
        for fragment in {secret, secret[-20:], secret[7:27]}:
            leaked = [line for line in lines if fragment in line]
            assert not leaked, f"key material in the log: {leaked[:2]}"
        encoded = json.dumps(secret)[1:-1]
        assert encoded not in text
