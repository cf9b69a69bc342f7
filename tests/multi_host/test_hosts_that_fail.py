"""Issue #24's proof on one machine: hosts (network namespaces) that fail under load.

Shared services in the root namespace (``_cluster``); gateway and worker hosts run real
``python -m gateway`` processes with files on S3, Postgres through PgBouncer (transaction
mode), the queue on RabbitMQ and quotas in Redis. Each scenario prints what it measured and
keeps it in ``_traffic.REPORT``; docs/deployment.md ("Proof: hosts that fail") quotes a run.

Quotas fail closed here (``on_redis_error: closed``): a request is either counted in Redis
and served, or refused, so the counter may exceed the accepted requests only by requests
cut off after they were counted (in flight on a host that died), never by a double count.
"""

from __future__ import annotations

import time

import psycopg
import pytest
import redis
from openai import OpenAI

from tests.multi_host._cluster import GATEWAY_PORT, Cluster
from tests.multi_host._haproxy import CHECK_INTERVAL_MS, FALL, Haproxy
from tests.multi_host._traffic import Traffic, record
from tests.support.net import wait_until
from tests.support.processes import insert_key
from tests.support.sentinel import DOWN_AFTER_MS, sentinel_cluster

pytestmark = [pytest.mark.multi_host, pytest.mark.timeout(180)]

CLIENTS = 4
PACE_S = 0.05  # per client: at most 20 requests a second each
TAKE_OUT_WITHIN_S = CHECK_INTERVAL_MS / 1000 * (FALL + 2)  # two failed checks, plus slack
FAILOVER_WITHIN_S = DOWN_AFTER_MS / 1000 + 9  # as tests/gateway/redis_sentinel expects
ANSWERS_AGAIN_WITHIN_S = 3.0  # after the sentinels name the new master


def _minute_counter(cluster: Cluster, url: str, key_id: str) -> tuple[int, int]:
    """The key's requests in its rpm window, and the window's milliseconds left."""
    key = f"{cluster.key_prefix}quota:{{{key_id}}}:minute"
    with redis.Redis.from_url(url, socket_timeout=2) as client:
        return int(client.hget(key, "r") or 0), int(client.pttl(key))


def test_a_gateway_host_killed_under_traffic(cluster: Cluster) -> None:
    """HAProxy takes the dead host out; clients lose at most their requests in flight on it;
    the rpm quota holds across the survivor: accepted <= limit, counter = accepted plus at
    most those cut off."""
    hosts = [cluster.network.add_host(f"a-gw{n}") for n in (1, 2)]
    cluster.start_gateways(hosts, {host.label: cluster.env(host) for host in hosts})
    servers = [(host.label, f"{host.address}:{GATEWAY_PORT}") for host in hosts]
    dead, survivor = hosts[0].label, hosts[1].label
    with Haproxy(cluster.folder / "a-haproxy", servers) as balancer:
        # The rate this machine sustains now sizes the limit: ~8 s of traffic, so the
        # limit is reached well inside the key's 60 s window (which starts at its first
        # request: there is no calendar minute boundary to avoid).
        _, warm_key = insert_key(cluster.database_url, "mh-warm", role="member")
        with Traffic(balancer.url, warm_key, CLIENTS, PACE_S) as warm:
            time.sleep(3.0)
        rate = warm.count(200) / 3.0
        assert {r.backend for r in warm.replies if r.status == 200} == {dead, survivor}
        limit = max(60, int(rate * 8))
        key_id, key = insert_key(cluster.database_url, "mh-quota", role="member", rpm=limit)

        with Traffic(balancer.url, key, CLIENTS, PACE_S) as load:
            started = time.monotonic()
            wait_until(lambda: load.count(200) >= limit // 4, timeout_s=40, interval_s=0.01)
            kill_sent_at = time.monotonic()
            killed_at = hosts[0].kill()
            take_out_s = balancer.wait_down(dead, timeout_s=10)
            out_at = time.monotonic()
            wait_until(lambda: load.count(429) >= CLIENTS * 3, timeout_s=45, interval_s=0.05)
        traffic_s = time.monotonic() - started
        states = balancer.states()
    counted, window_left_ms = _minute_counter(cluster, cluster.redis_url, key_id)

    replies = load.snapshot()
    accepted = [r for r in replies if r.status == 200]
    failed = [r for r in replies if r.status not in (200, 429)]
    after_out = [r for r in accepted if r.sent > out_at]
    survivor_rps = len([r for r in accepted if r.sent > out_at]) / max(
        0.001, max((r.at for r in after_out), default=out_at) - out_at
    )
    record(
        "a_gateway_host_killed",
        {
            "clients": CLIENTS,
            "rpm_limit": limit,
            "accepted": len(accepted),
            "refused_429": sum(1 for r in replies if r.status == 429),
            "failed_in_flight": len(failed),
            "redis_counter": counted,
            "kill_to_gone_s": round(killed_at - kill_sent_at, 3),
            "haproxy_take_out_s": round(take_out_s, 3),
            "survivor_req_per_s": round(survivor_rps, 1),
            "traffic_s": round(traffic_s, 1),
        },
    )
    assert (states[dead], states[survivor]) == ("DOWN", "UP"), states
    assert take_out_s < TAKE_OUT_WITHIN_S, take_out_s
    # Only requests on their way to the dead host failed: sent before it was gone (its
    # processes' sockets close while they die), one per client at most.
    assert len(failed) <= CLIENTS, failed
    assert all(r.sent < killed_at for r in failed), [(r, killed_at) for r in failed]
    assert all(r.backend == survivor for r in accepted if r.sent >= killed_at)
    assert after_out, "nothing was served after the take-out"
    # The quota is exact across the hosts: one window, never more accepted than the limit.
    assert window_left_ms > 0
    assert len(accepted) <= limit
    assert len(accepted) <= counted <= len(accepted) + len(failed)
    assert counted == limit  # reached: 429s from then on, nothing counted twice


FILES = 50
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
LAST_SENTENCE = "The cormorant Quillivant nests under the north pier of Skerrowmoor."


def _document(n: int) -> str:
    """Every document tokenizes alike (so chunks alike); the last carries ``LAST_SENTENCE``."""
    lines = [f"Ledger F{n:02d} row {i}: the tide at the harbour turned at dusk." for i in range(20)]
    if n == FILES - 1:
        lines[-1] = LAST_SENTENCE
    return "\n".join(lines)


def _files_by_status(cluster: Cluster, store: str) -> dict[str, int]:
    with psycopg.connect(cluster.database_url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM vector_store_files WHERE vector_store_id = %s "
            "GROUP BY status",
            (store,),
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


def _chunks(cluster: Cluster, store: str) -> dict[str, tuple[int, list[int]]]:
    """Per file: its recorded chunk total and the indexes of its chunk rows."""
    with psycopg.connect(cluster.database_url) as conn:
        totals: dict[str, int | None] = {
            str(file_id): total
            for file_id, total in conn.execute(
                "SELECT file_id, chunks_total FROM vector_store_files WHERE vector_store_id = %s",
                (store,),
            )
        }
        indexes: dict[str, list[int]] = {file_id: [] for file_id in totals}
        for file_id, index in conn.execute(
            "SELECT file_id, chunk_index FROM chunks WHERE vector_store_id = %s "
            "ORDER BY file_id, chunk_index",
            (store,),
        ):
            indexes[str(file_id)].append(int(index))
    return {file_id: (int(totals[file_id] or 0), indexes[file_id]) for file_id in totals}


def test_a_worker_host_killed_mid_batch(cluster: Cluster) -> None:
    """50 files through gateway A, two worker hosts; one SIGKILLed with some but not all
    done: the other completes every file exactly once, from S3 (no disk is shared); gateway
    B finds the last file and serves its bytes."""
    gateway, other, first, second = (
        cluster.network.add_host(label) for label in ("b-gwa", "b-gwb", "b-w1", "b-w2")
    )
    for worker in (first, second):
        cluster.start_worker(worker, cluster.env(worker))
    cluster.start_gateways([gateway, other], {h.label: cluster.env(h) for h in (gateway, other)})
    for worker in (first, second):
        cluster.wait_worker(worker)
    _, admin_key = insert_key(cluster.database_url, "mh-admin")
    client, client_b = (
        OpenAI(
            base_url=f"http://{host.address}:{GATEWAY_PORT}/v1",
            api_key=admin_key,
            max_retries=0,
            timeout=60,
        )
        for host in (gateway, other)
    )
    store = client.vector_stores.create(name="mh-worker-killed").id
    file_ids = [
        client.files.create(
            file=(f"mh-{n:02d}.txt", _document(n).encode()), purpose="assistants"
        ).id
        for n in range(FILES)
    ]
    started = time.monotonic()
    client.vector_stores.file_batches.create(
        vector_store_id=store,
        file_ids=file_ids,
        chunking_strategy=STATIC,  # type: ignore[arg-type]
    )
    wait_until(
        lambda: _files_by_status(cluster, store).get("completed", 0) >= FILES // 5,
        timeout_s=90,
        interval_s=0.02,
    )
    killed_at = first.kill()
    done_at_kill = _files_by_status(cluster, store).get("completed", 0)
    wait_until(
        lambda: _files_by_status(cluster, store).get("completed", 0) == FILES,
        timeout_s=120,
        interval_s=0.1,
    )
    finished = time.monotonic()
    statuses = _files_by_status(cluster, store)
    chunks = _chunks(cluster, store)
    hits = client_b.vector_stores.search(
        vector_store_id=store, query=LAST_SENTENCE, max_num_results=5
    )
    last_bytes = client_b.files.content(file_ids[-1]).read()
    stored = cluster.s3.client().list_objects_v2(Bucket=cluster.bucket).get("KeyCount", 0)
    survivor_fps = (FILES - done_at_kill) / max(0.001, finished - killed_at)
    record(
        "b_worker_host_killed",
        {
            "files": FILES,
            "completed_before_kill": done_at_kill,
            "all_files_s": round(finished - started, 1),
            "survivor_files_per_s": round(survivor_fps, 2),
            "survivor_finished_after_kill_s": round(finished - killed_at, 1),
        },
    )
    assert 0 < done_at_kill < FILES
    assert statuses == {"completed": FILES}
    counts = {total for total, _ in chunks.values()}
    assert len(counts) == 1, counts  # alike documents, alike chunks
    (expected,) = counts
    assert expected > 1
    for file_id, (total, indexes) in chunks.items():
        assert indexes == list(range(total)), (file_id, indexes)  # each chunk once
    assert sorted(chunks) == sorted(file_ids)
    assert stored >= FILES  # the bytes are on S3, where every worker host reads them
    assert file_ids[-1] in [hit.file_id for hit in hits.data]
    assert last_bytes == _document(FILES - 1).encode()
    assert cluster.vhost.queue_counts("ingestion.XQ")[0] in (0, -1)  # nothing dead-lettered


def test_the_redis_master_killed_under_quota_traffic(cluster: Cluster) -> None:
    """Sentinel fails over within its configured time, both gateway hosts answer again after
    it, and the new master's counter holds each accepted request once."""
    folder = cluster.folder / "c-sentinel"
    folder.mkdir()
    with sentinel_cluster(folder, host=cluster.network.address) as sentinels:
        hosts = [cluster.network.add_host(f"c-gw{n}") for n in (1, 2)]
        envs = {}
        for host in hosts:
            env = cluster.env(
                host,
                **sentinels.env(),
                RAGWAY_REDIS__SOCKET_TIMEOUT_S="1",
                RAGWAY_POLICY__QUOTAS__REDIS_RETRY_S="0.2",  # as tests/gateway/redis_sentinel
            )
            del env["REDIS_URL"]  # the sentinels name the master
            envs[host.label] = env
        cluster.start_gateways(hosts, envs)
        key_id, key = insert_key(cluster.database_url, "mh-sentinel", role="member", rpm=10**6)
        servers = [(host.label, f"{host.address}:{GATEWAY_PORT}") for host in hosts]
        with (
            Haproxy(cluster.folder / "c-haproxy", servers) as balancer,
            Traffic(balancer.url, key, CLIENTS, PACE_S) as load,
        ):
            wait_until(lambda: load.count(200) >= 40, timeout_s=30, interval_s=0.02)
            killed_at = time.monotonic()
            old = sentinels.kill_master()
            failover_s = sentinels.wait_failover(old, timeout_s=FAILOVER_WITHIN_S)
            named_at = time.monotonic()

            def both_answer() -> bool:
                served = {
                    r.backend for r in load.snapshot() if r.status == 200 and r.sent > named_at
                }
                return served == {host.label for host in hosts}

            wait_until(both_answer, timeout_s=ANSWERS_AGAIN_WITHIN_S + 10, interval_s=0.02)
            again_s = (
                max(
                    min(
                        r.at
                        for r in load.snapshot()
                        if r.status == 200 and r.sent > named_at and r.backend == host.label
                    )
                    for host in hosts
                )
                - named_at
            )
            time.sleep(1.0)  # steady traffic on the new master
        with sentinels.data_client(sentinels.master_port()) as client:
            counted = int(client.hget(f"{cluster.key_prefix}quota:{{{key_id}}}:minute", "r") or 0)

    replies = load.snapshot()
    accepted = sum(1 for r in replies if r.status == 200)
    refused = [r for r in replies if r.status != 200]
    cut_off = sum(1 for r in refused if r.sent < killed_at)
    record(
        "c_redis_master_killed",
        {
            "clients": CLIENTS,
            "accepted": accepted,
            "refused_during_failover": len(refused),
            "redis_counter": counted,
            "sentinel_failover_s": round(failover_s, 2),
            "down_after_ms": DOWN_AFTER_MS,
            "both_gateways_answer_again_s": round(again_s, 2),
        },
    )
    assert failover_s < FAILOVER_WITHIN_S
    assert again_s < ANSWERS_AGAIN_WITHIN_S, again_s
    # Refused while the quota store had no master: the gateway's 503, or HAProxy's own 503
    # when both gateways' /readyz failed for it.
    assert {(r.status, r.code) for r in refused} <= {(503, "quota_unavailable"), (503, None)}
    assert all(r.at >= killed_at for r in refused)
    assert accepted <= counted <= accepted + cut_off
