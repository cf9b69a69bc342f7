"""Soak: the whole stack under mixed traffic for a set time, with memory checked for growth.

``python -m tests.soak --duration 30m --warmup 2m --concurrency 4`` (``make soak``) starts
``ragway run`` (embedded Postgres + pgvector and Redis unless ``DATABASE_URL`` /
``REDIS_URL`` are set, migrations, the gateway and a worker) with a fake OpenAI-compatible
upstream on loopback as the deployment of its chat and embedding aliases; ingestion and
search use the configured (local MiniLM) embedder. An async ``openai`` client sends chat,
chat streams, embeddings, vector store searches, ``file_search`` chats and uploads polled to
completion. The RSS of every process (gateway, worker, supervisor, Postgres summed over its
backends, Redis, and the driver and upstream for reference) is sampled after warm-up, every
``--sample-every`` and at the end into ``rss.csv``; ``report.json`` holds latency
percentiles per traffic kind, errors by kind and the growth of each process. The exit code
is 1 when a process grew more than ``--max-growth`` % after warm-up or the error rate passed
``--max-error-rate``. Everything it starts is stopped on exit, Ctrl-C and SIGTERM.
"""
