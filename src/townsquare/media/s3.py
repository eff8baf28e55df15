"""The object-store backend of MediaStore: any S3-compatible service, through aiobotocore."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from townsquare.media.store import content_type_of

CACHE_CONTROL = "public, max-age=31536000, immutable"


def _missing(exc: Exception) -> bool:
    """Whether a client error says the key or bucket does not exist (botocore's ClientError carries .response)."""
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


class S3MediaStore:
    """Objects in one bucket, served from its public URL (a CDN or the bucket itself)."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, public_url: str | None,
                 region: str = "us-east-1", acl: str = "public-read"):
        self.endpoint = endpoint
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        # Objects are public by default, as Mastodon stores them; "" leaves access to a bucket policy instead.
        self._acl = {"ACL": acl} if acl else {}
        self.url_base = (public_url or f"{endpoint.rstrip('/')}/{bucket}").rstrip("/")
        self._session = get_session()
        self._config = AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})

    @asynccontextmanager
    async def _client(self):
        # A client per call: it belongs to the running event loop, and an app, a worker and each test have their own.
        async with self._session.create_client(
                "s3", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key, config=self._config) as client:
            yield client

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        async with self._client() as client:
            try:
                await client.head_bucket(Bucket=self.bucket)
            except Exception as exc:
                if not _missing(exc):
                    raise
                await client.create_bucket(Bucket=self.bucket)

    async def put(self, key: str, data: bytes) -> None:
        """Store bytes under a key, with the headers the files are served with."""
        async with self._client() as client:
            await client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type_of(key),
                                    CacheControl=CACHE_CONTROL, **self._acl)

    async def put_file(self, key: str, path: Path) -> None:
        """Store a local file under a key."""
        with open(path, "rb") as body:
            async with self._client() as client:
                await client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type_of(key),
                                        CacheControl=CACHE_CONTROL, **self._acl)

    async def get(self, key: str) -> bytes:
        """Return the bytes of a key."""
        async with self._client() as client:
            try:
                response = await client.get_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if _missing(exc):
                    raise FileNotFoundError(key) from None
                raise
            async with response["Body"] as stream:
                return await stream.read()

    async def fetch_to(self, key: str, path: Path) -> None:
        """Copy a key's object to a local file, in chunks."""
        async with self._client() as client:
            try:
                response = await client.get_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if _missing(exc):
                    raise FileNotFoundError(key) from None
                raise
            with open(path, "wb") as out:
                async with response["Body"] as stream:
                    while chunk := await stream.read(1 << 20):
                        out.write(chunk)

    async def delete(self, keys: list[str]) -> None:
        """Remove these keys (missing ones are fine)."""
        keys = list(keys)
        async with self._client() as client:
            for start in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[start:start + 1000]]
                await client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    async def exists(self, key: str) -> bool:
        """Whether a key is stored."""
        async with self._client() as client:
            try:
                await client.head_object(Bucket=self.bucket, Key=key)
                return True
            except Exception as exc:
                if _missing(exc):
                    return False
                raise
