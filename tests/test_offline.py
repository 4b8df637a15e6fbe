"""The suite runs with the network closed: only loopback connections are allowed."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_outside_connections_are_refused() -> None:
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("198.51.100.7", 443), timeout=1)


def test_hub_downloads_are_disabled_by_the_encoder(encoder) -> None:
    import os

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert encoder.embed(["offline"]).shape == (1, 384)
