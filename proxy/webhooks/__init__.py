"""Signed webhooks to the tenant's ``webhook_url`` (Standard Webhooks).

``events`` builds the outbox rows, written in the same transaction as the
change they announce; ``delivery`` is the worker that sends them;
``signing`` is the Standard Webhooks signature; ``backoff`` the retry
schedule.
"""
