"""The URL guard at the connection: a guarded client connects only to an address it has just
checked, so a name that resolves inward when the request is made (DNS rebinding) reaches
nothing. A real HTTP server on loopback stands in for the inside of the network."""

import http.server
import socket
import threading

import httpx
import pytest

from services.ingest.poller import http_client as feed_client
from shared.urlguard import GuardedBackend, guarded_transport


@pytest.fixture
def inside():
    """A loopback server that records the Host header of every request it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["host"])
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()


def resolves_to(address: str):
    def resolve(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    return resolve


def test_a_name_that_resolves_inward_at_connect_time_reaches_nothing(inside):
    port, seen = inside
    backend = GuardedBackend(resolve=resolves_to("127.0.0.1"))
    with httpx.Client(transport=guarded_transport(False, backend)) as client:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            client.get(f"http://hooks.rebinding.example:{port}/x")
    assert seen == []


def test_the_guarded_client_connects_to_the_address_it_checked_and_keeps_the_host(inside):
    port, seen = inside
    # every address passes here, so that the loopback server can stand in for a public one
    backend = GuardedBackend(resolve=resolves_to("127.0.0.1"), reason_for=lambda address: None)
    with httpx.Client(transport=guarded_transport(False, backend)) as client:
        response = client.get(f"http://feeds.example.org:{port}/x")
    assert response.status_code == 200 and response.text == "ok"
    assert seen == [f"feeds.example.org:{port}"]


def test_private_addresses_are_reached_only_when_allowed(inside):
    port, seen = inside
    with httpx.Client(transport=guarded_transport(True)) as client:
        assert client.get(f"http://127.0.0.1:{port}/x").status_code == 200
    with httpx.Client(transport=guarded_transport(False)) as client:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            client.get(f"http://127.0.0.1:{port}/x")
    assert len(seen) == 1


def test_feed_and_notifier_clients_connect_through_the_guard(monkeypatch):
    from services.notify import tasks
    from shared import tasks as shared_tasks
    from shared.settings import Settings

    def backend(client: httpx.Client):
        return client._transport._pool._network_backend  # where httpx keeps it

    with feed_client(5.0, allow_private_urls=False) as client:
        assert isinstance(backend(client), GuardedBackend)
    with feed_client(5.0, allow_private_urls=True) as client:
        assert not isinstance(backend(client), GuardedBackend)
    monkeypatch.setattr(shared_tasks, "_settings", Settings(allow_private_urls=False))
    monkeypatch.setattr(tasks, "_http", None)
    assert isinstance(backend(tasks.http_client()), GuardedBackend)
    monkeypatch.setattr(shared_tasks, "_settings", Settings(allow_private_urls=True))
    monkeypatch.setattr(tasks, "_http", None)
    assert not isinstance(backend(tasks.http_client()), GuardedBackend)
