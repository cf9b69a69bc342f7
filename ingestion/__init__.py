"""Ingestion: the data layer (Postgres, migrations), the job queue and the worker process."""
