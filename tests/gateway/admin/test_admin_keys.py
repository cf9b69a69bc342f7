"""``/admin/keys`` through HTTP: the lifecycle of a key, roles, and errors in OpenAI's shape."""

from __future__ import annotations

import uuid

import httpx
import openai
import pytest

from tests.gateway.admin.conftest import PolicyGateway, create_key


def admin(gateway: PolicyGateway, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/admin",
        headers={"authorization": f"Bearer {key or gateway.admin_key}"},
        timeout=10,
    )


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code


def test_key_lifecycle(policy_gateway: PolicyGateway) -> None:
    # The session's database is shared with every test on this worker: an owner of our own.
    owner = f"team-{uuid.uuid4().hex[:8]}"
    with admin(policy_gateway) as http:
        created = http.post(
            "/keys", json={"name": "svc", "owner": owner, "rpm": 10, "allowed_models": ["chat"]}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        secret, key_id = body["key"], body["id"]
        assert secret.startswith(body["display_prefix"])
        assert body["object"] == "api_key"
        assert body["role"] == "member"

        fetched = http.get(f"/keys/{key_id}").json()
        assert "key" not in fetched
        assert fetched["rpm"] == 10
        listed = http.get("/keys", params={"owner": owner}).json()
        assert listed["object"] == "list"
        assert [k["id"] for k in listed["data"]] == [key_id]

        caller = openai.OpenAI(
            base_url=f"{policy_gateway.base_url}/v1", api_key=secret, max_retries=0
        )
        assert caller.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        ).choices

        patched = http.patch(f"/keys/{key_id}", json={"rpm": None, "tpm": 5000})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["rpm"], patched.json()["tpm"]) == (None, 5000)

        rotated = http.post(f"/keys/{key_id}/rotate")
        assert rotated.status_code == 201
        new_secret = rotated.json()["key"]
        assert new_secret != secret
        with pytest.raises(openai.AuthenticationError):
            caller.models.list()
        fresh = openai.OpenAI(
            base_url=f"{policy_gateway.base_url}/v1", api_key=new_secret, max_retries=0
        )
        assert fresh.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        ).choices

        revoked = http.post(f"/keys/{key_id}/revoke")
        assert revoked.json()["revoked_at"] is not None
        with pytest.raises(openai.AuthenticationError):
            fresh.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        assert http.get("/keys", params={"owner": owner}).json()["data"] == []
        assert (
            len(http.get("/keys", params={"owner": owner, "include_revoked": True}).json()["data"])
            == 1
        )

        deleted = http.delete(f"/keys/{key_id}")
        assert deleted.json() == {"id": key_id, "object": "api_key", "deleted": True}
        assert_openai_error(http.get(f"/keys/{key_id}"), 404, "api_key_not_found")


def test_bad_bodies_are_400_in_openai_shape(policy_gateway: PolicyGateway) -> None:
    with admin(policy_gateway) as http:
        assert_openai_error(http.post("/keys", json={"rpm": 5}), 400)  # no name
        assert_openai_error(http.post("/keys", json={"name": "x", "rpm": 0}), 400)
        assert_openai_error(http.post("/keys", json={"name": "x", "colour": "red"}), 400)
        assert_openai_error(http.post("/keys", json={"name": "x", "role": "root"}), 400)
        created = http.post("/keys", json={"name": "bad-patch"}).json()
        assert_openai_error(http.patch(f"/keys/{created['id']}", json={"name": None}), 400)
        assert_openai_error(http.get("/usage", params={"group_by": "colour"}), 400)


def test_admin_routes_refuse_members_and_strangers(policy_gateway: PolicyGateway) -> None:
    member = create_key(policy_gateway.database_url, "member")
    revoked_admin = create_key(policy_gateway.database_url, "gone", role="admin")
    with admin(policy_gateway) as http:
        http.post(f"/keys/{revoked_admin.id}/revoke").raise_for_status()
    for path in ("/admin/keys", f"/admin/keys/{member.id}", "/admin/usage"):
        url = f"{policy_gateway.base_url}{path}"
        assert_openai_error(httpx.get(url), 401, "invalid_api_key")
        assert_openai_error(httpx.get(url, headers={"authorization": "Bearer sk-rgw-nope"}), 401)
        bearer = {"authorization": f"Bearer {revoked_admin.key}"}
        assert_openai_error(httpx.get(url, headers=bearer), 401)
        bearer = {"authorization": f"Bearer {member.key}"}
        assert_openai_error(httpx.get(url, headers=bearer), 403, "admin_required")
    with admin(policy_gateway, member.key) as http:
        assert_openai_error(http.post("/keys", json={"name": "sneaky", "role": "admin"}), 403)


def test_an_admin_can_create_another_admin(policy_gateway: PolicyGateway) -> None:
    with admin(policy_gateway) as http:
        second = http.post("/keys", json={"name": "second-admin", "role": "admin"}).json()
    with admin(policy_gateway, second["key"]) as http:
        third = http.post("/keys", json={"name": "third"})
        assert third.status_code == 201
        assert http.get(f"/keys/{third.json()['id']}").json()["name"] == "third"


def test_rotating_a_revoked_or_expired_key_is_409_and_the_old_state_stays(
    policy_gateway: PolicyGateway,
) -> None:
    with admin(policy_gateway) as http:
        revoked = http.post("/keys", json={"name": "to-revoke"}).json()
        http.post(f"/keys/{revoked['id']}/revoke").raise_for_status()
        response = http.post(f"/keys/{revoked['id']}/rotate")
        assert_openai_error(response, 409, "api_key_inactive")
        assert "is revoked; a revoked key cannot be rotated" in response.json()["error"]["message"]

        expired = http.post(
            "/keys", json={"name": "expired", "expires_at": "2020-01-01T00:00:00Z"}
        ).json()
        response = http.post(f"/keys/{expired['id']}/rotate")
        assert_openai_error(response, 409, "api_key_inactive")
        assert "is expired" in response.json()["error"]["message"]
        assert (
            http.get(f"/keys/{expired['id']}").json()["display_prefix"]
            == (expired["display_prefix"])
        )

        # Un-expired, it rotates, and the new secret works.
        http.patch(f"/keys/{expired['id']}", json={"expires_at": None}).raise_for_status()
        rotated = http.post(f"/keys/{expired['id']}/rotate")
        assert rotated.status_code == 201, rotated.text
    caller = openai.OpenAI(
        base_url=f"{policy_gateway.base_url}/v1", api_key=rotated.json()["key"], max_retries=0
    )
    assert caller.models.list().data is not None


def test_listed_keys_show_only_a_short_prefix(policy_gateway: PolicyGateway) -> None:
    with admin(policy_gateway) as http:
        created = http.post("/keys", json={"name": "short", "owner": "short-prefix"}).json()
        listed = http.get("/keys", params={"owner": "short-prefix"}).json()["data"]
    assert created["display_prefix"] == created["key"][:11]
    assert [k["display_prefix"] for k in listed] == [created["key"][:11]]
