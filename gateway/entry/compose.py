"""The composition root: every service of a gateway process, and every pipeline hook.

``Gateway.open`` builds them once, in the app's lifespan; ``close`` releases them, last
opened first. ``stage_hooks`` lists the hooks in stage order: a new hook is one line there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from configs import Settings
from gateway.api import FAMILIES, ApiServices, Family
from gateway.api.admin import WebhookAdmin
from gateway.api.batches import BatchRepository, BatchRunner, BatchService
from gateway.api.collections import CollectionServices
from gateway.api.files import FileService, MemberQuota
from gateway.api.http.idempotency import IdempotencyGate
from gateway.api.openai.responses import (
    BackgroundRunner,
    BackgroundStore,
    ResponsesBackend,
    ResponseStore,
)
from gateway.api.uploads import UploadRepository, UploadService, UploadSweeper
from gateway.api.vector_stores import SearchService, VectorStoreService
from gateway.platform.idempotency import Idempotency, IdempotencyStore
from gateway.platform.prices import Price, PriceBook
from gateway.platform.resources import Resources
from gateway.policy.audit import AuditSink, AuditWriter
from gateway.policy.auth import (
    Authenticator,
    DatabaseAuthenticator,
    KeyCache,
    KeyChangeListener,
    RedisKeyEvents,
    key_change_channel,
)
from gateway.policy.keys import KeyService
from gateway.policy.pipeline import AuthHook, Hook, ModelAccessHook
from gateway.policy.quotas import QuotaHook, QuotaService, RedisLane
from gateway.policy.retrieval import CitationHook, RetrievalHook, StoreSearch
from gateway.policy.tools import ToolRequestHook, ToolResponseHook
from gateway.policy.usage import SpendLedger, UsageHook, UsageRecorder, UsageReport
from inference.embedders import build_embedder
from ingestion.collections import FileRepository, StoreFileRepository, VectorStoreRepository
from ingestion.embedding import LazyEmbedder
from ingestion.queue import IngestionQueue, build_queue_broker
from ingestion.search import HybridSearcher, QueryEmbedder
from ingestion.storage import build_storage
from ingestion.webhooks import WebhookEndpoints, WebhookEvents, WebhookSender

if TYPE_CHECKING:
    from gateway.policy.pii import PiiService

__all__ = ["Gateway", "price_book", "stage_hooks"]


def stage_hooks(
    settings: Settings,
    *,
    authenticator: Authenticator,
    search: StoreSearch,
    quotas: QuotaService,
    pii: PiiService | None,
    audit: AuditSink,
    usage: UsageRecorder,
    prices: PriceBook,
) -> list[Hook]:
    """Every hook of the pipeline, in the order it runs (``Stage`` order, then this list's)."""
    hooks: list[Hook] = [
        AuthHook(authenticator),  # AUTH: the bearer key -> principal
        ModelAccessHook(),  # POLICY: may the key use the model alias
        RetrievalHook(search),  # POLICY: file_search context, before quotas and PII see it
        ToolRequestHook(settings.tools, audit),  # POLICY: the tools a request offers
        QuotaHook(quotas, chars_per_token=settings.policy.quotas.chars_per_token),  # QUOTA
    ]
    if pii is not None:
        from gateway.policy.pii import PiiHook  # only with pii.enabled (loads phonenumbers)

        hooks.append(PiiHook(pii, audit))  # PII: mask upstream, restore the answer
    hooks += [
        CitationHook(),  # RESPONSE: file_citation annotations, after PII restored the text
        ToolResponseHook(settings.tools, audit),  # RESPONSE: the tool calls a model makes
        UsageHook(usage, prices),  # USAGE: the ledger row and spend
    ]
    return hooks


@dataclass(slots=True)
class Gateway:
    """What a gateway process built at start-up; the app puts its parts in ``app.state``."""

    resources: Resources
    authenticator: DatabaseAuthenticator
    key_cache: KeyCache  # ``live`` while key changes reach this process
    keys: KeyService
    usage_report: UsageReport
    hooks: tuple[Hook, ...]
    api: ApiServices
    collections: CollectionServices
    responses: ResponseStore  # stored /v1/responses responses
    background_responses: BackgroundStore  # background: true, accepted and followed
    background_runner: BackgroundRunner  # what a worker runs a background response with
    queue: IngestionQueue  # the ingestion queue (the console shows its depth)
    idempotency: IdempotencyGate  # Idempotency-Key on creating POSTs
    webhooks: WebhookAdmin  # /admin/webhooks
    batches: BatchService  # /v1/batches
    batch_runner: BatchRunner  # what a worker runs a batch with
    _closer: AsyncExitStack

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        database_url: str,
        redis_url: str | None,
        env: Mapping[str, str],
        families: Sequence[Family] = FAMILIES,
    ) -> Gateway:
        """Build everything; whatever was opened is closed again if a later step fails.

        ``redis_url`` is not used when ``redis.sentinel`` names the master."""
        policy = settings.policy
        async with AsyncExitStack() as stack:
            resources = await Resources.open(
                settings, database_url=database_url, redis_url=redis_url
            )
            stack.push_async_callback(resources.close)
            pool = resources.pool
            redis = resources.redis_connector  # the URL's server, or Sentinel's master

            # Keys: cached per process, invalidated over Redis pub/sub.
            channel = key_change_channel(settings.redis.key_prefix)
            cache = KeyCache(
                ttl_s=policy.keys.ttl_s,
                fallback_ttl_s=policy.keys.fallback_ttl_s,
                max_entries=policy.keys.max_entries,
            )
            listener = KeyChangeListener(redis, cache, channel=channel)
            # Quotas get their own lean pipelined connection (one script per API request is
            # on the hot path); a closed connection is reopened by the next command.
            quota_redis = RedisLane(redis, timeout_s=settings.redis.socket_timeout_s)
            stack.push_async_callback(quota_redis.aclose)
            stack.push_async_callback(listener.stop)
            authenticator = DatabaseAuthenticator(pool, cache=cache)
            keys = KeyService(pool, events=RedisKeyEvents(resources.redis, channel=channel))

            # Quotas and usage: both write out what they hold at close (settlements, rows).
            prices = price_book(settings)
            quotas = QuotaService(
                redis=quota_redis,
                settings=policy.quotas,
                key_prefix=settings.redis.key_prefix,
                prices=prices,
                spend=SpendLedger(pool),
            )
            usage = UsageRecorder(pool, policy.usage)
            listener.start()
            quotas.start()
            usage.start()
            stack.push_async_callback(usage.close, timeout_s=settings.gateway.graceful_timeout_s)
            stack.push_async_callback(quotas.close)

            # Audit trail and PII (Presidio loads in a thread: seconds).
            audit = AuditWriter(pool, settings.tools.audit)
            pii = await _pii_service(settings)
            audit.start()
            stack.push_async_callback(audit.close)  # writes out queued audit events

            # One embedder (built on first use) for the vector stores and chat retrieval.
            embedder = LazyEmbedder(lambda: build_embedder(settings.inference.embedder))
            stores = VectorStoreRepository(pool)
            retrieval = settings.retrieval
            searcher = HybridSearcher(
                pool=resources.search_pool,  # a read replica when database.read_url is set
                primary_pool=pool if resources.read_pool is not None else None,
                vectors=QueryEmbedder(
                    embedder,
                    max_entries=retrieval.query_cache.max_entries,
                    ttl_s=retrieval.query_cache.ttl_s,
                ),
                embedding_model=_embedding_model_name(settings),
                settings=retrieval.search,
            )

            search = StoreSearch(searcher=searcher, stores=stores, settings=retrieval.chat)
            hooks = stage_hooks(
                settings,
                authenticator=authenticator,
                search=search,
                quotas=quotas,
                pii=pii,
                audit=audit,
                usage=usage,
                prices=prices,
            )
            # Idempotency-Key: claims and first answers in Postgres, shared by every process;
            # a duplicate's body (an upload, at most) is read within the larger body limit.
            idempotency = IdempotencyGate(
                Idempotency(IdempotencyStore(pool, settings.idempotency), settings.idempotency),
                authenticator,
                max_body_bytes=max(
                    settings.gateway.max_body_bytes, settings.ingestion.max_upload_bytes
                ),
            )
            # /v1/responses: its stored responses, and the same store search as chat's file_search
            responses = ResponseStore(pool, settings.responses)
            background = BackgroundStore(
                pool,
                settings.responses,
                namespace=settings.worker.namespace,
                events=WebhookEvents.from_settings(settings),
            )
            backend = ResponsesBackend(
                responses,
                search,
                settings.responses,
                idempotency=idempotency,
                background=background,
            )
            backends = {"responses": backend, "responses.input_tokens": backend}
            api = await ApiServices.open(
                settings, env=env, hooks=hooks, families=families, backends=backends
            )
            stack.push_async_callback(api.close)

            # Files and vector stores: ingestion runs in the worker; its jobs are staged in
            # the outbox with the change that needs them, and workers relay them to the queue.
            broker = build_queue_broker(settings, redis=redis)  # Redis or RabbitMQ
            stack.callback(broker.close)
            queue = IngestionQueue(broker, queue_name=settings.ingestion.queue)
            storage = build_storage(settings.ingestion.storage, data_dir=settings.data_dir)
            files = FileRepository(pool, stager=queue)
            vector_stores = VectorStoreService(
                stores=stores,
                store_files=StoreFileRepository(pool, stager=queue),
                files=files,
                embedder=embedder,
                chunking=settings.ingestion.chunking,
                storage=storage,
                delete_orphaned_files=settings.ingestion.delete_orphaned_files_with_store,
            )
            quota = MemberQuota(pool, settings.files)
            uploads = UploadRepository(pool)
            collections = CollectionServices(
                files=FileService(
                    files=files,
                    storage=storage,
                    max_upload_bytes=settings.ingestion.max_upload_bytes,
                    quota=quota,
                ),
                uploads=UploadService(
                    uploads=uploads,
                    files=files,
                    storage=storage,
                    quota=quota,
                    settings=settings.files.uploads,
                ),
                vector_stores=vector_stores,
                search=SearchService(access=vector_stores.access, searcher=searcher),
            )
            # Uploads sent in parts: every process sweeps the expired ones and their parts.
            sweeper = UploadSweeper(uploads, storage, settings.files.uploads)
            sweeper.start()
            stack.push_async_callback(sweeper.close)
            # Batches: lines run on workers (``batch_runner``) through the same servings.
            batch_store = BatchRepository(
                pool,
                namespace=settings.worker.namespace,
                queue_name=settings.batches.queue,
                events=WebhookEvents.from_settings(settings),
            )
            batches = BatchService(batches=batch_store, files=files, settings=settings.batches)
            batch_runner = BatchRunner(
                batches=batch_store,
                files=files,
                storage=storage,
                keys=keys,
                servings={serving.path: serving for serving in api.servings.values()},
                settings=settings.batches,
            )
            # Background responses: run on workers through the same Responses serving.
            background_runner = BackgroundRunner(
                store=background,
                serving=api.servings["responses"],
                keys=keys,
                settings=settings.responses,
            )
            stack.push_async_callback(background_runner.close)
            # Webhooks: endpoints saved behind the SSRF guard; the worker delivers events.
            webhooks = WebhookAdmin(
                WebhookEndpoints(pool),
                sender=WebhookSender(settings.webhooks),
                settings=settings.webhooks,
            )
            closer = stack.pop_all()
        return cls(
            resources=resources,
            authenticator=authenticator,
            key_cache=cache,
            keys=keys,
            usage_report=UsageReport(pool),
            hooks=tuple(hooks),
            api=api,
            collections=collections,
            responses=responses,
            background_responses=background,
            background_runner=background_runner,
            queue=queue,
            idempotency=idempotency,
            webhooks=webhooks,
            batches=batches,
            batch_runner=batch_runner,
            _closer=closer,
        )

    async def close(self) -> None:
        """Collections, API (upstream connections), audit, quotas and usage, then the pools."""
        await self._closer.aclose()


def price_book(settings: Settings) -> PriceBook:
    """Prices from the configured deployments (``providers.models``)."""
    prices: dict[str, Price] = {}
    aliases: dict[str, list[str]] = {}
    for alias, model in settings.providers.models.items():
        aliases[alias] = [d.name for d in model.deployments]
        for deployment in model.deployments:
            prices[deployment.name] = Price(
                deployment.input_price_per_1m, deployment.output_price_per_1m
            )
    return PriceBook(prices, aliases)


async def _pii_service(settings: Settings) -> PiiService | None:
    if not settings.pii.enabled:
        return None
    from gateway.policy.pii import PiiService  # Presidio's setup, only when PII is on

    return await asyncio.to_thread(PiiService.from_settings, settings.pii)


def _embedding_model_name(settings: Settings) -> str:
    embedder = settings.inference.embedder
    return embedder.model_name if embedder.kind == "local" else embedder.model
