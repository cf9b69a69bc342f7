"""A list cursor the caller may not read answers as one that does not exist (issue 16,
finding 7): ``after=`` / ``before=`` with another key's store id told that it exists."""

from __future__ import annotations

import secrets

import pytest

from tests.hardening.conftest import Gateway, Keys, client

MISSING = "vs_" + "0" * 24


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("cursor", ["after", "before"])
def test_a_foreign_store_as_cursor_answers_like_a_missing_one(
    gateway: Gateway, keys: Keys, cursor: str, order: str
) -> None:
    admin, member = client(gateway, keys.admin), client(gateway, keys.member)
    tag = secrets.token_hex(4)
    older = admin.vector_stores.create(name=f"shared-cursor-{tag}-older")
    foreign = admin.vector_stores.create(name=f"other-cursor-{tag}")
    newer = admin.vector_stores.create(name=f"shared-cursor-{tag}-newer")
    visible = [s.id for s in member.vector_stores.list(limit=100).data]
    assert older.id in visible
    assert newer.id in visible
    assert foreign.id not in visible

    def answer(store_id: str) -> tuple[list[str], bool | None]:
        page = member.vector_stores.list(limit=100, order=order, **{cursor: store_id})  # type: ignore[arg-type]
        return [s.id for s in page.data], page.has_more

    # ... while another key's store gives exactly what no store gives
    assert answer(foreign.id) == answer(MISSING)
    # the admin sees every store, so the foreign one is a cursor like any other
    everything = admin.vector_stores.list(limit=100, order=order, **{cursor: foreign.id})  # type: ignore[arg-type]
    assert everything.data
