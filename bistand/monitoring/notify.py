"""Where alerts go: e-mail over SMTP (the standard library's smtplib) and/or JSON to a webhook (httpx).

Both are configured in `alerts.smtp` / `alerts.webhook` (bistand.settings); a message is
sent to every configured channel and counts as sent when at least one took it (a channel that
failed is logged). Nothing configured: alerts are evaluated and kept as incidents (the dashboard
shows them) but not sent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

import httpx

from bistand.monitoring.alerts import AlertMessage
from bistand.settings.model import AlertSettings, SmtpSettings, WebhookSettings

LOG = logging.getLogger(__name__)


class EmailNotifier:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: AlertMessage) -> None:
        smtp = self.settings
        mail = EmailMessage()
        mail["Subject"] = message.email_subject()
        mail["From"] = smtp.sender
        mail["To"] = ", ".join(smtp.to)
        mail["X-Bistand-Incident"] = message.incident_id
        mail["X-Bistand-Status"] = message.status
        mail.set_content(message.email_text())
        connect = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if smtp.ssl else {}
        with connect(smtp.host, smtp.port, timeout=smtp.timeout_seconds, **kwargs) as client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password.get_secret_value())
            client.send_message(mail)


class WebhookNotifier:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def send(self, message: AlertMessage) -> None:
        headers = {"User-Agent": "bistand-alerts"}
        token = self.settings.token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = httpx.post(self.settings.url, json=message.model_dump(), headers=headers,
                              timeout=self.settings.timeout_seconds)
        response.raise_for_status()


class Channels:
    """Every configured channel; raises only when none took the message."""

    def __init__(self, channels: list) -> None:
        self.channels = channels

    def send(self, message: AlertMessage) -> None:
        if not self.channels:
            return
        errors = []
        for channel in self.channels:
            try:
                channel.send(message)
            except Exception as exc:  # noqa: BLE001 - another channel may take it
                LOG.warning("alert channel %s failed: %s", type(channel).__name__, type(exc).__name__)
                errors.append(exc)
        if len(errors) == len(self.channels):
            raise errors[0]


def channels_for(settings: AlertSettings) -> Channels:
    channels: list = []
    if settings.smtp.host and settings.smtp.to:
        channels.append(EmailNotifier(settings.smtp))
    if settings.webhook.url:
        channels.append(WebhookNotifier(settings.webhook))
    return Channels(channels)
