"""The local S3-compatible store that `scripts/stack.py test` starts (moto_server): its
address, a prefix of its own for each test, and the settings or environment that point
Collaboratory's document storage at it."""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # moto checks no signatures; any key pair works


def endpoint() -> tuple[str, str]:
    """The store's URL and bucket, or a failure naming how to get one."""
    url, bucket = os.environ.get("STACK_S3_ENDPOINT_URL"), os.environ.get("STACK_S3_BUCKET")
    if not url or not bucket:
        pytest.fail(
            "No local S3 store: run the tests under `scripts/stack.py test` (it starts "
            "moto_server and exports STACK_S3_ENDPOINT_URL / STACK_S3_BUCKET)."
        )
    return url, bucket


def new_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def environment(prefix: str, *, url: str | None = None) -> dict[str, str]:
    """The variables a deployment sets (collaboratory/settings.py), for child processes."""
    store_url, bucket = endpoint()
    return {
        "STORAGE_S3_BUCKET": bucket,
        "STORAGE_S3_ENDPOINT_URL": url or store_url,
        "STORAGE_S3_REGION": "us-east-1",
        "STORAGE_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "STORAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "STORAGE_S3_PREFIX": prefix,
        "STORAGE_S3_TIMEOUT_SECONDS": "2",
    }


def default_storage(prefix: str, *, url: str | None = None) -> dict[str, Any]:
    """The ``STORAGES["default"]`` that settings.py builds from :func:`environment`."""
    store_url, bucket = endpoint()
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": url or store_url,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": prefix,
            "default_acl": None,
            "client_config": Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=12,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        },
    }


def client():
    """A boto3 client of the store, to look at what landed in the bucket."""
    url, _ = endpoint()
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


def keys(prefix: str) -> list[str]:
    _, bucket = endpoint()
    listing = client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/")
    return sorted(item["Key"] for item in listing.get("Contents", []))
