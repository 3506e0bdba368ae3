"""What each channel sends, built from a delivery's payload: Slack Block Kit, email parts,
and the subscriber's Atom feed. Pure: no I/O beyond reading the package's templates."""

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.notify.matching import DIGEST_TYPE, alerts_of, headline, subject

SLACK_MAX_BLOCKS = 50
SLACK_MAX_TEXT = 3000
SLACK_MAX_HEADER = 150
ATOM_NS = "http://www.w3.org/2005/Atom"

templates = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True, keep_trailing_newline=True)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{_slack_escape(label)}>"


def slack_message(payload: dict) -> dict:
    """Block Kit within Slack's limits (50 blocks, 3000 characters a section) and a
    plain-text fallback."""
    alerts = alerts_of(payload)
    title = subject(payload)
    blocks = [{"type": "header", "text": {"type": "plain_text",
                                          "text": _cut(title, SLACK_MAX_HEADER)}}]
    room = (SLACK_MAX_BLOCKS - 2) // 2  # two blocks per alert, plus header and "more"
    for alert in alerts[:room]:
        development = alert["development"]
        sources = ", ".join(_slack_link(s["url"], s.get("outlet") or s["url"])
                            for s in alert["sources"])
        head = f"*{_slack_escape(headline(alert))}*\n"
        tail = f"\nSources: {sources} · {_slack_link(alert['story']['timeline_url'], 'timeline')}"
        evidence = _cut(_slack_escape(development["evidence"]),
                        max(200, SLACK_MAX_TEXT - len(head) - len(tail) - 1))
        text = f"{head}>{evidence}{tail}"
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _cut(text, SLACK_MAX_TEXT)}})
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": _cut(f"Why you get this: {_slack_escape(alert['reason'])}", SLACK_MAX_TEXT)}]})
    if len(alerts) > room:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"…and {len(alerts) - room} more developments."}})
    fallback = "\n".join([title] + [f"- {headline(a)}: {a['development']['evidence']}"
                                    for a in alerts])
    return {"text": _cut(fallback, SLACK_MAX_TEXT), "blocks": blocks}


def email_message(payload: dict, sender: str, recipient: str, unsubscribe_url: str | None,
                  message_id: str) -> EmailMessage:
    """Text and HTML parts; RFC 8058 one-click unsubscribe headers when there is a link."""
    context = {"alerts": alerts_of(payload), "digest": payload["type"] == DIGEST_TYPE,
               "window": payload["data"].get("window"), "unsubscribe_url": unsubscribe_url,
               "headline": headline}
    message = EmailMessage()
    message["Subject"] = subject(payload)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(datetime.fromisoformat(payload["timestamp"]))
    message["Message-ID"] = f"<{message_id}@storywire>"  # the same on a redelivery
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(templates.get_template("alert.txt").render(context))
    message.add_alternative(templates.get_template("alert.html").render(context),
                            subtype="html")
    return message


def notice_message(sender: str, recipient: str, subscription_name: str, target: str,
                   reason: str) -> EmailMessage:
    """Tells a subscriber that one of its endpoints was disabled."""
    message = EmailMessage()
    message["Subject"] = f"storywire: alerts to {subscription_name} are paused"
    message["From"] = sender
    message["To"] = recipient
    message.set_content(templates.get_template("disabled.txt").render(
        name=subscription_name, target=target, reason=reason))
    return message


def atom_feed(feed_id: str, title: str, self_url: str, entries: list[tuple[datetime, dict]],
              now: datetime) -> bytes:
    """An Atom 1.0 feed of alerts: (when it was recorded, alert data) newest first."""
    ET.register_namespace("", ATOM_NS)

    def add(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    add(feed, "id", feed_id)
    add(feed, "title", title)
    add(feed, "updated", (entries[0][0] if entries else now).isoformat())
    add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    author = add(feed, "author")
    add(author, "name", "storywire")
    for recorded, alert in entries:
        development = alert["development"]
        entry = add(feed, "entry")
        add(entry, "id", f"urn:storywire:development:{development['id']}")
        add(entry, "title", headline(alert))
        add(entry, "updated", recorded.isoformat())
        for source in alert["sources"]:
            add(entry, "link", rel="alternate", href=source["url"], type="text/html")
        add(entry, "link", rel="related", href=alert["story"]["timeline_url"])
        add(entry, "summary", f"{development['evidence']} (Why you get this: {alert['reason']})")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
