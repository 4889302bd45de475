"""The README's first command: `gaogan serve` on the embedded default, as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_gaogan_serve_answers_healthz_serves_the_demo_shop_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAOGAN_", "DATABASE_URL"))}
    env.update(GAOGAN_INSTANCE=str(tmp_path / "instance"), PYTHONPATH=str(Path.cwd()))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from shop.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"gaogan serve did not come up:\n{out[-3000:]}")
                time.sleep(0.3)
        assert status == 200 and b'"ok"' in body
        # The embedded default keeps its database and key under instance/.
        assert (tmp_path / "instance" / "gaogan.db").exists()
        assert (tmp_path / "instance" / "secret_key").exists()
        status, body = _get(f"http://127.0.0.1:{port}/api/openapi.json")
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert code == 0, out[-3000:]
    assert "demo data loaded" in out
