"""Certificates for the signing tests (made per run by `examples.certificates`) and an RFC 3161 timestamp
server on loopback for PAdES B-T."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization

from examples.certificates import Issued, issue, make_ca, pkcs12_bytes, write_pkcs12

__all__ = ["Issued", "issue", "make_ca", "pkcs12_bytes", "timestamp_server", "write_pkcs12"]


@contextmanager
def timestamp_server(ca: Issued) -> Iterator[str]:
    """An RFC 3161 timestamp server on a free loopback port (pyHanko's own timestamping logic behind a real
    HTTP socket), for PAdES B-T tests. Yields its URL."""
    from asn1crypto import keys, tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    tsa = issue(ca, "sohoa test TSA", timestamping=True)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.certificate.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(
            tsa.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        certs_to_embed=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(ca.certificate.public_bytes(serialization.Encoding.DER))]
        ),
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
