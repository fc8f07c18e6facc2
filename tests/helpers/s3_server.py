"""A real S3 server on 127.0.0.1: moto's server mode, over HTTPS with a CA of the test's own,
checking SigV4 signatures.

moto answers every request until told otherwise (it counts INITIAL_NO_AUTH_ACTION_COUNT,
unlimited by default); the server gets an IAM user with an access key first, then
`/moto-api/reset-auth` switches checking on, so a wrong key is refused as AWS refuses it.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.config

from tests.controlplane._pki import generate
from tests.helpers.oci import free_port
from tests.helpers.processes import stop

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy")


@dataclass(frozen=True)
class S3Server:
    """A running server: its URL, the CA its certificate chains to (None: http) and a key."""

    url: str
    ca: Path | None
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 client with the server's key (path-style), to set up what a test needs."""
        return boto3.client(
            "s3", endpoint_url=self.url, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            verify=str(self.ca) if self.ca else False,
            config=botocore.config.Config(s3={"addressing_style": "path"}, proxies={},
                                          retries={"max_attempts": 1}))


def moto_server() -> str:
    """The moto_server script of this Python's environment (`moto[server]`, a test extra)."""
    script = Path(sys.executable).with_name("moto_server")
    if not script.exists():
        raise RuntimeError(f"{script} is missing: install the test extras (pip install -e "
                           "'.[test]', which brings moto[server])")
    return str(script)


@contextmanager
def running_moto(folder: Path, tls: bool = True) -> Iterator[S3Server]:
    """moto's S3 on a free port of 127.0.0.1 (HTTPS with a fresh CA unless `tls` is off),
    with signature checks on and one access key; stopped (by its own handle) at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [moto_server(), "-H", "127.0.0.1", "-p", str(port)]
    ca = None
    if tls:
        pki = generate(folder / "pki")
        ca = pki.ca
        args += ["-c", str(pki.serving.cert), "-k", str(pki.serving.key)]
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
    with (folder / f"moto-{port}.log").open("wb") as log:
        server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=str(ca)) if ca else None
        _wait_until_serving(f"{url}/moto-api/", context, server)
        access_key, secret_key = _user_with_key(url, ca)
        _post(f"{url}/moto-api/reset-auth", context, b"0")  # from now on, check every request
        yield S3Server(url, ca, access_key, secret_key)
    finally:
        stop(server)


def _wait_until_serving(url: str, context: ssl.SSLContext | None,
                        server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto_server exited with {server.returncode}")
        try:
            with _opener(context).open(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer {url} within {timeout} s")


def _user_with_key(url: str, ca: Path | None) -> tuple[str, str]:
    """An IAM user allowed everything, and its access key (made while moto checks nothing)."""
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                       verify=str(ca) if ca else False, config=botocore.config.Config(proxies={}),
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="kfops-test")
    iam.put_user_policy(UserName="kfops-test", PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="kfops-test")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _post(url: str, context: ssl.SSLContext | None, data: bytes) -> None:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with _opener(context).open(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")


def _opener(context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    # No proxy: the server is on loopback, whatever the environment says.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                       urllib.request.HTTPSHandler(context=context))
