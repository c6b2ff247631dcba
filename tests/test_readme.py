"""The README's shell examples run as written.

Every ```sh block must parse (``bash -n``), and every block runs for real
unless the line before it says why it cannot run here
(``<!-- readme-test: skip: REASON -->``: Docker, a real merchant store, the
test command itself). The start command runs verbatim in a copy of the
checkout (a fresh venv, ``pip install .``, quickstart, serve), the ``curl``
line quickstart prints must answer a customer, and the other blocks then run
against that server with the placeholders (``sk_...``, ``ct_...``,
``TENANT_ID``) replaced by the values quickstart printed.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.support import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip:\s*(?P<reason>[^>]*?)\s*-->")
START = "shoprelay serve"


class Block:
    def __init__(self, line: int, text: str, skip: str | None) -> None:
        self.line = line
        self.text = text
        self.skip = skip

    def __repr__(self) -> str:
        return f"README.md:{self.line}"


def shell_blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("```sh", "```bash"):
            start = i
            body: list[str] = []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            marker = SKIP.search(lines[start - 1]) if start > 0 else None
            blocks.append(Block(start + 1, "\n".join(body) + "\n", marker["reason"] if marker else None))
        i += 1
    return blocks


BLOCKS = shell_blocks()


def test_the_readme_has_runnable_examples():
    assert len(BLOCKS) >= 5
    assert [b for b in BLOCKS if b.skip is None and START in b.text], "the start command is not run"
    for block in BLOCKS:
        assert block.skip is None or block.skip.strip(), f"{block}: a skip must say why"


@pytest.mark.parametrize("block", BLOCKS, ids=repr)
def test_every_shell_example_parses(block: Block):
    result = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    assert result.returncode == 0, f"{block} is not valid shell:\n{block.text}\n{result.stderr}"


def _copy_checkout(target: pathlib.Path) -> None:
    """The files a clone has (tracked and new, not ignored): no .venv, no databases."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _printed(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}\s+(\S+)\s*$", output, re.M)
    assert match, f"quickstart printed no {label}:\n{output}"
    return match[1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_first_day_runs_as_written(tmp_path: pathlib.Path):
    checkout = tmp_path / "shoprelay"
    checkout.mkdir()
    _copy_checkout(checkout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPRELAY_", "VIRTUAL_ENV"))}
    env.update(
        SHOPRELAY_DATA_DIR=str(tmp_path / "data"),
        SHOPRELAY_PORT=str(port),
        SHOPRELAY_LOG_LEVEL="WARNING",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # The venv the README makes must not see this one's packages.
        PATH=os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p),
    )
    (start,) = [b for b in BLOCKS if b.skip is None and START in b.text]
    log = (tmp_path / "start.log").open("w+")
    server = subprocess.Popen(
        ["bash", "-c", start.text], cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600  # pip install . on a cold cache
        while True:
            assert server.poll() is None, f"the start command ended:\n{_read(log)}"
            assert time.monotonic() < deadline, f"serve never answered:\n{_read(log)}"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        output = _read(log)
        curl = next((line for line in output.splitlines() if line.startswith("curl ")), None)
        assert curl, f"quickstart printed no curl line:\n{output}"
        assert f"127.0.0.1:{port}/" in curl, "the curl line names another address than serve's"
        customer = _run(curl, checkout, env)
        assert '"id":"1"' in customer.replace(" ", ""), customer

        values = {
            "sk_...": _printed(output, "api_key"),
            "ct_...": _printed(output, "connection_token"),
            "TENANT_ID": _printed(output, "tenant_id"),
        }
        for block in BLOCKS:
            if block.skip is not None or block is start:
                continue
            script = block.text
            for placeholder, value in values.items():
                script = script.replace(placeholder, value)
            script = re.sub(r"(localhost|127\.0\.0\.1):8080", f"127.0.0.1:{port}", script)
            _run(script, checkout, env, str(block))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _run(script: str, cwd: pathlib.Path, env: dict[str, str], what: str = "curl") -> str:
    # The CLI from the venv the start command made; curl fails on an HTTP
    # error status, so an example that answers 4xx fails here.
    prelude = (
        f'export PATH="{cwd / ".venv" / "bin"}:$PATH"\n'
        'curl() { command curl --silent --show-error --fail-with-body "$@"; }\n'
        "set -e\n"
    )
    result = subprocess.run(
        ["bash", "-c", prelude + script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{what} failed:\n{script}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _read(log) -> str:  # type: ignore[no-untyped-def]
    log.flush()
    log.seek(0)
    return log.read()
