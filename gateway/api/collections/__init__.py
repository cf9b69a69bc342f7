"""Document collections in the gateway: the Files and Vector Stores services, built once."""

from __future__ import annotations

from gateway.api.collections._services import CollectionServices, collection_route_handlers

__all__ = ["CollectionServices", "collection_route_handlers"]
