"""A real SMTP server in this process (aiosmtpd), strict like a relay: STARTTLS first, then a login.

Its certificate is made for the test session and signed by nobody, so the service trusts it
only through SMTP_CA_FILE, as a deployment trusts a private CA. Every message it accepts
lands in its :class:`Mailbox`, where the tests read it as a recipient would.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
LOGIN = "mailer"
PASSWORD = "smtp-test-password"  # a throwaway account of the test server
SENDER = "My Service <no-reply@example.com>"
TOKEN = re.compile(r"^[ \t]+([A-Za-z0-9_-]{43})\r?$", re.MULTILINE)  # on a line of its own in the text body


@dataclass(frozen=True)
class Delivery:
    """One message as the server received it."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        content: str = part.get_content()
        return content

    @property
    def token(self) -> str:
        """The token in the plain-text body, as the recipient would copy it."""
        found = TOKEN.findall(self.body("plain"))
        assert len(found) == 1, self.body("plain")
        return str(found[0])


class Mailbox:
    """aiosmtpd handler: keeps what arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's name
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        delivery = Delivery(str(envelope.mail_from), [str(to) for to in envelope.rcpt_tos], message)
        with self._lock:
            self._deliveries.append(delivery)
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def only_delivery_to(self, address: str) -> Delivery:
        found = [delivery for delivery in self.deliveries if delivery.recipients == [address]]
        assert len(found) == 1, [delivery.recipients for delivery in self.deliveries]
        return found[0]


def _authenticate(_server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (LOGIN.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


def write_self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (EC: made in milliseconds); return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_file, key_file


class SmtpServer:
    """The server, on a free port of 127.0.0.1, in a thread with its own event loop."""

    def __init__(self, folder: Path) -> None:
        self.certificate_file, key_file = write_self_signed_certificate(folder)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(self.certificate_file, key_file)
        self.mailbox = Mailbox()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-server", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    async def _start(self) -> asyncio.Server:
        def protocol() -> SMTP:
            return SMTP(
                self.mailbox,
                hostname="smtp.test",
                tls_context=self._tls,
                require_starttls=True,
                auth_required=True,
                authenticator=_authenticate,
            )

        return await asyncio.get_running_loop().create_server(protocol, HOST, 0)

    @property
    def settings(self) -> dict[str, object]:
        """The service settings that send through this server."""
        return {
            "smtp_host": HOST,
            "smtp_port": self.port,
            "smtp_tls": "starttls",
            "smtp_username": LOGIN,
            "smtp_password": PASSWORD,
            "smtp_ca_file": str(self.certificate_file),
            "email_from": SENDER,
        }

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
