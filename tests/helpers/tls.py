"""An HTTPS server on 127.0.0.1 whose certificate names another host (a TLS failure)."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def wrong_name_server(folder: Path) -> Iterator[tuple[int, Path, list[int]]]:
    """Serve HTTPS with a certificate for wrong.example only; yields the port, the certificate
    (to trust as the kubeconfig's CA) and a list that grows by one per connection."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=wrong.example", "-addext", "subjectAltName=DNS:wrong.example",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    connections: list[int] = []

    class Counting(http.server.HTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            raw, address = self.socket.accept()
            connections.append(1)
            try:
                return context.wrap_socket(raw, server_side=True), address
            except (ssl.SSLError, OSError):
                raw.close()
                raise

    server = Counting(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1]), cert, connections
    finally:
        server.shutdown()
        server.server_close()
