"""Outgoing e-mail: messages from editable templates, sent over SMTP without blocking the event loop.

Each kind of message has two templates in ``email_templates/``: ``<kind>.txt``, whose first line
is ``Subject: ...`` followed by a blank line and the plain-text body, and ``<kind>.html``, the
HTML body. They may use ``$service``, ``$username``, ``$token`` and ``$minutes`` (``$$`` is a
dollar sign); values are HTML-escaped in the HTML body. Edit them to link to your own front end,
e.g. ``https://app.example.com/reset?token=$token``. They are read and checked when the service
starts: a template it cannot read, or one with an unknown placeholder, stops it with one line.
"""

from __future__ import annotations

import asyncio
import html
import logging
import socket
import ssl
import string
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import aiosmtplib

from .config import ConfigurationError, Settings

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "email_templates"
# The messages the service sends, named as the purposes of the tokens they carry (one_time_tokens.py).
MESSAGE_KINDS = ("password_reset", "email_verification")
PLACEHOLDERS = ("service", "username", "token", "minutes")
SEND_TIMEOUT_SECONDS = 15
CLOSE_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class MessageTemplate:
    """The subject and the two bodies of one kind of message."""

    subject: string.Template
    text: string.Template
    html: string.Template


def load_template(folder: Path, kind: str) -> MessageTemplate:
    """Read and check ``<kind>.txt`` and ``<kind>.html``; raise :class:`ConfigurationError` with one line."""
    where = f"e-mail template {folder / kind}.txt/.html"
    try:
        text = (folder / f"{kind}.txt").read_text(encoding="utf-8")
        markup = (folder / f"{kind}.html").read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise ConfigurationError(f"{where}: cannot be read ({type(error).__name__})") from None
    first_line, _, body = text.partition("\n")
    if not first_line.startswith("Subject:"):
        raise ConfigurationError(f"{where}: the first line of the .txt file must be 'Subject: ...'")
    template = MessageTemplate(
        subject=string.Template(first_line.removeprefix("Subject:").strip()),
        text=string.Template(body.lstrip("\n")),
        html=string.Template(markup),
    )
    for part in (template.subject, template.text, template.html):
        try:
            part.substitute(dict.fromkeys(PLACEHOLDERS, "x"))
        except KeyError as error:
            known = ", ".join(f"${name}" for name in PLACEHOLDERS)
            raise ConfigurationError(f"{where}: unknown placeholder ${error.args[0]} (known: {known})") from None
        except ValueError as error:
            raise ConfigurationError(f"{where}: {error} (write $$ for a dollar sign)") from None
    return template


class Mailer:
    """Composes messages from the templates and sends them with the SMTP_* settings."""

    def __init__(self, settings: Settings, service: str, templates: Path = TEMPLATES) -> None:
        if settings.smtp_host is None or settings.email_from is None:
            raise ValueError("e-mail needs SMTP_HOST and EMAIL_FROM")
        self._settings = settings
        self._host = settings.smtp_host
        self._sender = settings.email_from
        self._service = service
        self._templates = {kind: load_template(templates, kind) for kind in MESSAGE_KINDS}
        # Certificates are checked against SMTP_CA_FILE, or the system's CAs.
        self._tls_context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        self.server = f"{settings.smtp_host}:{settings.smtp_port_number} (SMTP_TLS={settings.smtp_tls})"

    def compose(self, kind: str, to: str, **values: str) -> EmailMessage:
        """The message of ``kind`` for ``to``, with ``values`` for the placeholders besides $service."""
        template = self._templates[kind]
        values = {"service": self._service, **values}
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = template.subject.substitute(values)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=parseaddr(self._sender)[1].rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message.set_content(template.text.substitute(values))
        message.add_alternative(
            template.html.substitute({name: html.escape(value) for name, value in values.items()}), subtype="html"
        )
        return message

    async def send(self, kind: str, to: str, **values: str) -> bool:
        """Send one message; failures are logged (without the address or the values), never raised."""
        message = self.compose(kind, to, **values)
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=settings.smtp_port_number,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",  # required, never opportunistic
            tls_context=self._tls_context,
            timeout=SEND_TIMEOUT_SECONDS,
        )
        connection = None
        try:
            await client.connect()
            connection = client.get_transport_info("socket")
            await client.send_message(message)
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as error:  # ssl errors and timeouts included
            logger.warning("email_failed kind=%s error=%s", kind, type(error).__name__)
            return False
        finally:
            # A failed STARTTLS upgrade leaves the plain connection open: close whatever is left.
            client.close()
            await _closed(connection)
        logger.info("email_sent kind=%s", kind)
        return True


async def _closed(connection: socket.socket | None) -> None:
    """Wait (briefly) until the connection's socket is closed.

    Closing a TLS connection is a short exchange that continues after ``close()`` returns; a
    service stopping at that moment would leave the socket open. The wait keeps each send whole.
    """
    if connection is None:
        return
    deadline = time.monotonic() + CLOSE_TIMEOUT_SECONDS
    while connection.fileno() != -1 and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def create_mailer(settings: Settings, service: str) -> Mailer | None:
    """The service's mailer (its templates checked), or None when SMTP_HOST is not set."""
    return None if settings.smtp_host is None else Mailer(settings, service)


def log_email_state(mailer: Mailer | None) -> None:
    """Say, once when the service starts, whether it sends e-mail and through which server."""
    if mailer is None:
        logger.info("e-mail is off (SMTP_HOST is not set): /password-reset/* and /email-verification/* answer 404")
    else:
        logger.info("e-mail goes through %s", mailer.server)
