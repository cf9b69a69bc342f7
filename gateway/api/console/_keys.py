"""``/console/keys``: list, create, read, change, rotate, revoke and delete API keys.

Everything goes through ``KeyService``, as the admin API does. The list, the create form
and every change are for admins; a member may open the pages of their own keys (read
only) and gets "not found" for any other key. A secret appears only in the response to the
create or rotate that made it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from gateway.api.console._keys_detail import key_detail
from gateway.api.console._keys_form import key_create, key_update, pii_policies
from gateway.api.console._keys_scope import key_status, readable_key
from gateway.api.console._render import HEADERS, fragment, is_htmx, page
from gateway.api.console._user import ConsoleUser, console_services
from gateway.policy.keys import CreatedKey, KeyRecord

__all__ = ["KeysController", "routes"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_LIST_LIMIT = 1000


def _go(request: Request[Any, Any, Any], path: str) -> Response[Any]:
    """Send the browser to ``path`` (htmx follows ``HX-Redirect`` with a full load)."""
    if is_htmx(request):
        return Response(b"", status_code=200, headers={**HEADERS, "hx-redirect": path})
    return Redirect(path=path, status_code=303)


def _matches(record: KeyRecord, text: str) -> bool:
    text = text.strip().lower()
    return not text or text in record.name.lower() or text in record.display_prefix.lower()


class KeysController(Controller):
    path = "/keys"
    include_in_schema = False

    @get("/", cache=False)
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        role: FromQuery[str] = "",
        owner: FromQuery[str] = "",
        q: FromQuery[str] = "",
        include_revoked: FromQuery[str] = "",
    ) -> Template:
        services = console_services(request)
        records = await services.keys.list(
            include_revoked=bool(include_revoked),
            owner=owner.strip() or None,
            role=role if role in ("admin", "member") else None,
            limit=_LIST_LIMIT,
        )
        context: dict[str, Any] = {
            "keys": [r for r in records if _matches(r, q)],
            "status_of": key_status,
            "filters": {"role": role, "owner": owner, "q": q, "include_revoked": include_revoked},
        }
        if request.headers.get("hx-target") == "keys-table":
            return fragment("_keys_table.html", admin, **context)
        return page(
            "keys.html",
            admin,
            nav="keys",
            pii_policies=pii_policies(services.settings),
            **context,
        )

    @post("/", status_code=200)
    async def create(
        self, request: Request[Any, Any, Any], admin: NamedDependency[ConsoleUser], data: Form
    ) -> Template:
        created = await console_services(request).keys.create(key_create(data))
        return self._secret(request, admin, created, "created")

    @get("/{key_id:str}", cache=False)
    async def detail(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        key_id: FromPath[str],
    ) -> Template:
        services = console_services(request)
        record = await readable_key(services.keys, user, key_id)
        return page(
            "keys_detail.html",
            user,
            nav="keys" if user.is_admin else "home",
            detail=await key_detail(services.usage, record),
            pii_policies=pii_policies(services.settings),
        )

    @post("/{key_id:str}", status_code=200)
    async def update(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        key_id: FromPath[str],
        data: Form,
    ) -> Response[Any]:
        await console_services(request).keys.update(key_id, key_update(data))
        return _go(request, f"/console/keys/{key_id}")

    @post("/{key_id:str}/rotate", status_code=200)
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        key_id: FromPath[str],
    ) -> Template:
        created = await console_services(request).keys.rotate(key_id)
        return self._secret(request, admin, created, "rotated")

    @post("/{key_id:str}/revoke", status_code=200)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        key_id: FromPath[str],
    ) -> Response[Any]:
        await console_services(request).keys.revoke(key_id)
        return _go(request, f"/console/keys/{key_id}")

    @post("/{key_id:str}/delete", status_code=200)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        key_id: FromPath[str],
    ) -> Response[Any]:
        await console_services(request).keys.delete(key_id)
        return _go(request, "/console/keys")

    @staticmethod
    def _secret(
        request: Request[Any, Any, Any], user: ConsoleUser, created: CreatedKey, what: str
    ) -> Template:
        """The one response that shows ``created``'s secret."""
        if is_htmx(request):
            return fragment("_keys_secret.html", user, created=created, what=what)
        return page("keys_secret.html", user, nav="keys", created=created, what=what)


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [KeysController]
