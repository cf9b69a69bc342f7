"""Test infrastructure: real services started for the test session, and helpers to drive them."""
