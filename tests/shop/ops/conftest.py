"""Fixtures for the operations tests: the machine's NATS server, and private ones to stop.

The shared NATS on 127.0.0.1:4222 (JetStream on; `.ci/run` starts it) is never stopped by a
test: a test that needs an outage runs its own `nats-server` on a free port with its own store
directory. Every test uses its own subject prefix, so streams never collide between tests,
runs or the other users of the shared server. Without NATS the tests skip, except with
CI=true, where a missing broker fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from tests.shop.orders.conftest import Shop, shop  # noqa: F401  (the fixture, re-exported)

SHARED_NATS = "nats://127.0.0.1:4222"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI refuses to skip the broker tests")
    pytest.skip(reason)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def nats_server_binary() -> str:
    found = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if found is None:
        _missing("nats-server is not installed (Debian package nats-server)")
    assert found is not None
    return found


@pytest.fixture
def shared_nats() -> str:
    if not _port_open(4222):
        _missing("no NATS server on 127.0.0.1:4222 (.ci/run starts one)")
    return SHARED_NATS


@pytest.fixture
def prefix() -> Iterator[str]:
    """A subject prefix of this test's own; its streams are deleted afterwards."""
    value = f"t{uuid.uuid4().hex[:10]}"
    yield value
    for url in _urls_used.pop(value, set()):
        # A private server is already gone with its store: nothing to delete then.
        with contextlib.suppress(Exception):
            asyncio.run(_delete_streams(url, value))


_urls_used: dict[str, set[str]] = {}


def remember(prefix: str, url: str) -> None:
    _urls_used.setdefault(prefix, set()).add(url)


async def _delete_streams(url: str, prefix: str) -> None:
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(f"{prefix}_"):
                await js.delete_stream(name.config.name)
    finally:
        await nc.close()


@dataclass(frozen=True)
class Message:
    seq: int
    subject: str
    msg_id: str
    body: bytes


async def _read(url: str, stream: str) -> list[Message]:
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        messages = []
        for seq in range(state.first_seq, state.last_seq + 1):
            raw = await js.get_msg(stream, seq)
            headers = raw.headers or {}
            messages.append(
                Message(
                    raw.seq or seq,
                    raw.subject or "",
                    headers.get("Nats-Msg-Id", ""),
                    raw.data or b"",
                )
            )
        return messages
    finally:
        await nc.close()


def read_stream(url: str, stream: str) -> list[Message]:
    """Every message the stream holds, by sequence (= the order the broker received them)."""
    return asyncio.run(_read(url, stream))


class PrivateNats:
    """A nats-server of this test's own, that the test may stop and start again."""

    def __init__(self, store: Path, log: Path) -> None:
        self.binary = nats_server_binary()
        self.store = store
        self.log = log
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not _port_open(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"nats-server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.proc = None


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    server = PrivateNats(tmp_path / "nats-store", tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
