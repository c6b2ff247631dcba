"""``shoprelay serve`` with SHOPRELAY_LOG_FORMAT=json writes JSON lines only,
uvicorn's own included, in every worker process (issue 12 item 8), and
probes (/health, /ready, /metrics) log at DEBUG, not INFO."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.harness import TEST_KEYRING


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_stop(tmp_path, workers, level):
    """Start serve, make a few requests, SIGTERM it; its stdout and stderr lines."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPRELAY_")}
    env.update({
        "SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SHOPRELAY_ENCRYPTION_KEYS": TEST_KEYRING,
        "SHOPRELAY_LOG_FORMAT": "json",
        "SHOPRELAY_LOG_LEVEL": level,
    })
    server = subprocess.Popen(
        [sys.executable, "-m", "proxy.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # only stops a hang: workers start on a busy box
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.1)
        # Enough requests that, with two workers, both very likely serve some.
        for _ in range(6):
            assert httpx.get(f"{base}/health").status_code == 200
            assert httpx.get(f"{base}/ready").status_code == 200
            assert httpx.get(f"{base}/metrics").status_code == 200
            assert httpx.get(f"{base}/no-such-route").status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            stdout, stderr = server.communicate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM), stderr.decode()
    return stdout.decode().splitlines() + stderr.decode().splitlines()


def parse(lines):
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return entries


@pytest.mark.parametrize("workers, level", [(1, "DEBUG"), (2, "INFO")])
def test_serve_writes_only_json_lines_and_probes_at_debug(tmp_path, workers, level):
    entries = parse(serve_and_stop(tmp_path, workers, level))
    messages = [e["msg"] for e in entries if e["logger"].startswith("uvicorn")]
    # uvicorn's startup and shutdown lines are there, as JSON.
    assert any("Application startup complete" in m for m in messages), messages
    assert any("Shutting down" in m for m in messages), messages
    assert all("color_message" not in e for e in entries)
    access = [e for e in entries if e["logger"] == "shoprelay.access"]
    probes = [e for e in access if e["route"] in ("/health", "/ready", "/metrics")]
    assert not [e for e in probes if e["level"] != "debug"]
    # Every worker logs its requests (the 404s are INFO).
    assert len([e for e in access if e["status"] == 404 and e["level"] == "info"]) == 6
    if level == "DEBUG":
        assert {e["route"] for e in probes} == {"/health", "/ready", "/metrics"}
    else:
        assert not probes


def test_serve_fatal_errors_are_log_lines_and_a_taken_port_is_exit_1(tmp_path):
    """In json mode every line serve writes is JSON, its refusal to start
    included; a port in use is a failure (1), not the CLI's "gone" (3)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPRELAY_")}
    env.update(SHOPRELAY_LOG_FORMAT="json", SHOPRELAY_DATA_DIR=str(tmp_path))
    bad_keyring = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "serve", "--port", "1"],
        env={**env, "SHOPRELAY_ENCRYPTION_KEYS": "not-a-keyring"},
        capture_output=True, text=True, timeout=60,
    )
    assert bad_keyring.returncode == 1
    lines = [json.loads(line) for line in bad_keyring.stderr.splitlines() if line.strip()]
    assert any("SHOPRELAY_ENCRYPTION_KEYS" in line["msg"] for line in lines if line["level"] == "error")

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "proxy.cli", "serve", "--port", str(port)],
            env={**env, "SHOPRELAY_ENCRYPTION_KEYS": TEST_KEYRING},
            capture_output=True, text=True, timeout=60,
        )
    assert busy.returncode == 1
    for line in busy.stderr.splitlines():
        json.loads(line)  # every line, the failure included
    assert "could not start" in busy.stderr
