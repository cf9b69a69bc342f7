"""Plumbing every layer may use: errors, ids, pagination, ledger, resources."""
