"""The image's start command, exactly as the Dockerfile gives it (CMD, ENV,
HEALTHCHECK) and with the environment docker-compose.yml gives it, run here
against PostgreSQL (Docker is not available on these machines): two
replicas started at once on an empty database, then the README's
``shoprelay quickstart`` step, then a revocation through the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import httpx
import yaml

from keys.vault import new_key_text
from proxy.store import migrations
from tests.replicas.test_compose import (
    FILLED,
    compose_text,
    dockerfile_cmd,
    dockerfile_env,
    dockerfile_healthcheck,
    interpolate,
)

BIN = pathlib.Path(sys.executable).parent  # the venv's scripts: shoprelay is here


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def container_env(database_url: str, keyring: str, port: int, secrets: pathlib.Path) -> dict[str, str]:
    """What the container would see: the image's ENV, then the compose
    service's environment, whose secrets are files (compose mounts them
    under /run/secrets; here under ``secrets``), with the database reached
    here instead of at ``postgres:5432`` and the port free on this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPRELAY_", "PG"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(dockerfile_env())
    service = yaml.safe_load(interpolate(compose_text(), FILLED))["services"]["shoprelay"]
    env.update({k: str(v) for k, v in service["environment"].items()})
    values = {"database_url": database_url, "encryption_keys": keyring}
    secrets.mkdir(exist_ok=True)
    for name in service["secrets"]:
        (secrets / name).write_text(values[name] + "\n")
    for key, value in list(env.items()):
        if value.startswith("/run/secrets/"):
            env[key] = str(secrets / value.removeprefix("/run/secrets/"))
    env.update(SHOPRELAY_PORT=str(port), SHOPRELAY_HOST="127.0.0.1")  # not every interface of a shared machine
    return env


async def wait_healthy(base: str, process: subprocess.Popen, limit: float = 30.0) -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() - started < limit:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not become healthy")


async def test_the_images_start_command_serves_two_replicas_on_postgresql(pg, tmp_path):
    ports = [free_port(), free_port()]
    keyring = new_key_text("k1")  # one keyring for both replicas
    envs = [container_env(pg.url, keyring, port, tmp_path / "secrets") for port in ports]
    assert "SHOPRELAY_DATABASE_URL" not in envs[0] and "SHOPRELAY_DATABASE_URL_FILE" in envs[0]
    command = dockerfile_cmd()
    assert command == ["shoprelay", "serve"]
    logs = [open(tmp_path / f"replica{i}.log", "w+") for i in range(2)]
    # Both start at once on an empty schema: the migration lock at work.
    servers = [
        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        for env, log in zip(envs, logs)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        await asyncio.gather(*(wait_healthy(base, proc) for base, proc in zip(bases, servers)))

        # The image's HEALTHCHECK command succeeds against each.
        for env in envs:
            check = dockerfile_healthcheck()
            assert check[0] == "python"
            subprocess.run([sys.executable, *check[1:]], env=env, check=True, timeout=10)

        # Both migrated the same, fresh database once between them.
        migrated = subprocess.run(
            ["shoprelay", "migrate"], env=envs[1], capture_output=True, text=True, timeout=30, check=True
        )
        assert json.loads(migrated.stdout) == {"schema_version": len(migrations.POSTGRES)}

        # The README's next step: docker compose exec shoprelay shoprelay quickstart
        out = subprocess.run(
            ["shoprelay", "quickstart", "--json"], env=envs[0], capture_output=True, text=True,
            timeout=30, check=True,
        )
        demo = json.loads(out.stdout)
        headers = {"x-api-key": demo["api_key"], "x-connection-token": demo["connection_token"]}
        async with httpx.AsyncClient() as client:
            for base in bases:
                assert (await client.get(f"{base}/ready")).status_code == 200
                answer = await client.get(f"{base}/ecommerce/customers/1", headers=headers)
                assert answer.status_code == 200 and answer.json()["id"] == "1"

            # Revoked through the CLI: both running replicas refuse it within a second.
            subprocess.run(
                ["shoprelay", "api-keys", "revoke", demo["api_key_id"]], env=envs[0],
                capture_output=True, check=True, timeout=30,
            )
            started = time.perf_counter()
            pending = set(bases)
            while pending and time.perf_counter() - started < 5:
                for base in list(pending):
                    answer = await client.get(f"{base}/ecommerce/customers/1", headers=headers)
                    if answer.status_code == 401:
                        pending.discard(base)
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            print(f"\nCLI revocation refused by both served replicas after {elapsed * 1000:.1f} ms")
            assert not pending and elapsed < 1.0, elapsed
    finally:
        for proc in servers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=15) for proc in servers]
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert set(codes) <= {0, -signal.SIGTERM}, codes
    for log in logs:
        log.seek(0)
        text = log.read()
        assert "Application shutdown complete" in text, text[-2000:]
        assert demo["api_key"] not in text and demo["connection_token"] not in text
        assert "Traceback" not in text, text[-2000:]
