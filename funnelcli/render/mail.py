"""``--format email``: the summary as one MIME message that ``sendmail -t`` or any SMTP relay
sends as it is — a subject from the headline, the HTML page with its charts as CID-attached
PNGs (mail clients block ``data:`` images and clip pages over about 100 KB), and a plain-text
part from the Markdown for clients that show no HTML."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from funnelcli.errors import UsageError
from funnelcli.model import Report
from funnelcli.render import charts, fmt
from funnelcli.render import html as html_render
from funnelcli.render import markdown as md_render
from funnelcli.render.sections import change_text

DOMAIN = "funnel.report"  # the right-hand side of Content-IDs and the Message-ID
HTML_LIMIT = 100_000  # bytes of HTML a mail client shows without clipping (Gmail: ~102 KB)
TABLE_GROUPS = (25, 10)  # the groups per table tried, in turn, when the page is too long


def render(report: Report, to: list[str], sender: str | None = None) -> str:
    """The message as text (``\\n`` line ends, as ``sendmail -t`` reads it on stdin)."""
    msg = EmailMessage()
    msg["Subject"] = subject(report)
    if sender:
        msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg.set_content(_plain(report))
    images: list[tuple[str, bytes]] = []

    def attach(png: bytes, name: str) -> str:
        cid = make_msgid(idstring=name, domain=DOMAIN)[1:-1]
        images.append((cid, png))
        return f"cid:{cid}"

    page = html_render.page(report, attach)
    for groups in TABLE_GROUPS:  # a report of hundreds of groups: only the largest
        if len(page.encode("utf-8")) <= HTML_LIMIT:
            break
        images.clear()
        page = html_render.page(report, attach, max_groups=groups)
    msg.add_alternative(page, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, png in images:
        html_part.add_related(png, "image", "png", cid=f"<{cid}>", disposition="inline")
    return msg.as_string()


def subject(report: Report) -> str:
    """``Funnel 2026-06-24 → 2026-06-30: 175 leads ▲9%, CPL $36.12, ROAS 2.10×, 3 Customer``."""
    total, c = report.total, report.currency
    changes = total.changes or {}
    last_id, last_name = report.stages[-1]
    leads = f"{fmt.count(total.leads)} leads"
    if "leads" in changes and changes["leads"].abs is not None:
        leads += f" {change_text(changes['leads'], 'count')}"
    parts = [leads, f"CPL {fmt.money(total.cpl, c)}"]
    if total.roas is not None:
        parts.append(f"ROAS {fmt.multiple(total.roas)}")
    elif total.revenue is not None:
        parts.append(f"revenue {fmt.money(total.revenue, c)}")
    parts.append(f"{fmt.count(total.stages[last_id].count)} {last_name}")
    text = f"Funnel {fmt.window(report.since, report.until)}: {', '.join(parts)}"
    return " ".join(text.split())  # a stage name with a line break must not break the header


def _plain(report: Report) -> str:
    text = md_render.render(report)
    if not charts.available():
        text += f"\n(Charts need the optional plotting extra: {charts.INSTALL_HINT}.)\n"
    return text


def addresses(values: list[str], flag: str) -> list[str]:
    """E-mail addresses as given (``Ann <ann@example.com>`` or ``ann@example.com``), each
    checked: a header sendmail cannot parse must fail here, not in the relay."""
    out = []
    for value in values:
        try:
            address = _parsed(value)
        except (ValueError, IndexError, TypeError):
            address = None
        if address is None:
            msg = f"{flag} {value!r} is not an e-mail address (name@example.com)."
            raise UsageError(msg)
        out.append(value.strip())
    return out


def _parsed(value: str) -> Address | None:
    msg = EmailMessage()
    msg["To"] = value
    found = msg["To"].addresses
    if len(found) != 1 or not found[0].username or not found[0].domain:
        return None
    return found[0]
