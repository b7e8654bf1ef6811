"""Email through ``[smtp]`` (upstream ``services/smtp``, handler kind ``smtp``, node ``.email()``).

Upstream queues a gomail message; here each alert is one ESMTP session
(Twisted's ``ESMTPSenderFactory``): STARTTLS when offered, AUTH when a
username is set, bounded by a timeout.  The message is ``text/html`` with
the alert's message as subject and its details as body.
"""

from __future__ import annotations

import email.message
import email.utils
from io import BytesIO

from twisted.internet import defer
from twisted.mail import smtp as tsmtp

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.services.base import HandlerConfigError, ServiceError

NAME = "smtp"
PROPERTY = "EmailHandlers"
OPTIONS_TYPE = "*smtp.HandlerConfig"
OPTIONS = {"to": opt.string_list, "to-field": opt.string_list}
PROPERTY_KEYS = {"ToList": "to", "ToTemplatesList": "to-field"}


def prepare(options: dict) -> dict:
    try:
        tmpls = [parse(t, str(i)) for i, t in enumerate(options.get("to-field") or ())]
    except TemplateError as e:
        raise HandlerConfigError(f"bad template in email address template: {e}") from None
    return {**options, "_to": tmpls}


def message(sender: str, to, subject: str, body: str) -> bytes:
    m = email.message.EmailMessage()
    m["Mime-Version"] = "1.0"
    m["Date"] = email.utils.formatdate(localtime=False)
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m.set_content(body, subtype="html", cte="quoted-printable")
    return m.as_bytes()


async def send_mail(ctx, to, subject: str, body: str) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    to = list(to) or list(c.to)
    if not to:
        raise ServiceError("not sending email, no recipients defined")
    from twisted.internet import reactor as default_reactor
    from twisted.internet import ssl
    reactor = ctx.reactor or default_reactor
    done = defer.Deferred()
    tls = ssl.CertificateOptions(verify=False) if c.no_verify else ssl.optionsForClientTLS(
        c.host)
    factory = tsmtp.ESMTPSenderFactory(
        c.username or None, c.password.encode() if c.username else None, c.from_, to,
        BytesIO(message(c.from_, to, subject, body)), done, retries=0, timeout=ctx.timeout,
        contextFactory=tls, requireAuthentication=bool(c.username),
        requireTransportSecurity=False)
    factory.noisy = False
    connector = reactor.connectTCP(c.host, c.port, factory, timeout=ctx.timeout)
    timer = reactor.callLater(ctx.timeout, done.cancel)
    try:
        await done
    except defer.CancelledError:
        connector.disconnect()
        raise ServiceError("failed to send email: timed out") from None
    except Exception as e:
        raise ServiceError(f"failed to send email: {type(e).__name__}: {_safe(e)}") from None
    finally:
        if timer.active():
            timer.cancel()


def _safe(e) -> str:
    """SMTP errors carry the server's reply; they never contain our password."""
    return str(e).replace("\n", " ")[:512]


async def send(ctx, o: dict, a: AlertData) -> None:
    to = list(o.get("to") or ())
    data = a.event_template_value()
    for tmpl in o.get("_to", ()):
        try:
            addr = tmpl.execute(data)
        except TemplateError:
            continue
        if addr:
            to.append(addr)
    await send_mail(ctx, to, a.message, a.details)


def test_options(cfg) -> dict:
    return {"to": list(cfg.to) or None, "subject": "test subject", "body": "test body"}


async def test(ctx, o: dict) -> None:
    await send_mail(ctx, o.get("to") or [], o["subject"], o["body"])
