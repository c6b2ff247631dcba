"""Secrets: API keys, connection tokens and credential encryption. No I/O."""
