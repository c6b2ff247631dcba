"""The shoprelay ASGI service: app, routes, auth, store and CLI."""
