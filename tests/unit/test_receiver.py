"""The loopback webhook receiver the demo and the end-to-end tests use: a whole message is
verified, and a request cut short by a sender that went away is not mistaken for a bad signature."""

import socket
import time

import httpx

from services.demo.receiver import WebhookReceiver
from services.notify.channels import new_secret, webhook_request


def wait_for_requests(receiver: WebhookReceiver, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(receiver.requests) < count:
        assert time.monotonic() < deadline, receiver.requests
        time.sleep(0.01)


def test_signed_messages_verify_and_others_are_rejected():
    with WebhookReceiver() as receiver:
        receiver.secret = new_secret()
        body, headers = webhook_request(receiver.secret, "msg_ok", {"type": "development"})
        assert httpx.post(receiver.url, content=body, headers=headers).status_code == 204
        forged = {**headers, "webhook-id": "msg_forged"}
        assert httpx.post(receiver.url, content=body, headers=forged).status_code == 401
    assert [a["webhook_id"] for a in receiver.alerts] == ["msg_ok"]
    assert receiver.rejected == ["No matching signature found"]


def test_a_body_cut_short_is_recorded_as_incomplete_not_as_a_bad_signature():
    with WebhookReceiver() as receiver:
        receiver.secret = new_secret()
        body, headers = webhook_request(receiver.secret, "msg_cut", {"type": "development"})
        host, port = receiver.server.server_address[:2]
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        with socket.create_connection((host, port)) as conn:  # headers, then half the body
            conn.sendall(f"POST /hooks/storywire HTTP/1.1\r\nhost: {host}\r\n{head}"
                         f"content-length: {len(body)}\r\n\r\n{body[:len(body) // 2]}".encode())
        wait_for_requests(receiver, 1)
    assert receiver.rejected == [] and receiver.alerts == []
    assert receiver.requests[0]["complete"] is False
    assert receiver.requests[0]["headers"]["webhook-id"] == "msg_cut"
