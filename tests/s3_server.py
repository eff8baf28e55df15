"""A real S3-compatible server (moto's server mode) on a free loopback port, for the tests."""

from __future__ import annotations

import socket
import uuid

import boto3

ACCESS_KEY = "test-access"
SECRET_KEY = "test-secret"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """moto's ThreadedMotoServer on 127.0.0.1, with helpers to make buckets."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        """Start serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def client(self):
        """A plain boto3 client of this server (to look at what the app stored)."""
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_bucket(self) -> str:
        """Create an empty bucket with a unique name."""
        name = f"media-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings_for(self, bucket: str) -> dict:
        """The TOWNSQUARE_S3_* settings pointing at one bucket of this server."""
        return {"s3_endpoint": self.endpoint, "s3_bucket": bucket, "s3_access_key": ACCESS_KEY,
                "s3_secret_key": SECRET_KEY, "s3_public_url": f"{self.endpoint}/{bucket}"}
