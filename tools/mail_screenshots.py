"""Screenshots of a ``--format email`` message as a mail client shows it: the HTML part with
its ``cid:`` images resolved, rendered by headless Chromium at desktop and phone width.

    funnel report … --format email --mail-to you@example.com --output week.eml
    python tools/mail_screenshots.py week.eml shots/week      # shots/week-1280.png, -390.png

Needs a ``chromium`` binary (Debian: ``apt-get install chromium``). For looking, not testing:
tests/test_mail.py proves the message well-formed and small.
"""

from __future__ import annotations

import base64
import email
import shutil
import subprocess
import sys
from email import policy
from pathlib import Path

WIDTHS = (1280, 390)


def resolved_html(message_path: Path) -> str:
    """The message's HTML with every ``cid:`` image inlined as a data: URI."""
    message = email.message_from_bytes(message_path.read_bytes(), policy=policy.default)
    html, images = "", {}
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_type() == "image/png":
            cid = part["Content-ID"].strip().strip("<>")
            images[cid] = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
    for cid, data in images.items():
        html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    return html


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, prefix = Path(sys.argv[1]), Path(sys.argv[2])
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    page = prefix.with_suffix(".html")
    page.write_text(resolved_html(source), encoding="utf-8")
    for width in WIDTHS:
        shot = f"{prefix}-{width}.png"
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        args += [f"--window-size={width},7000", f"--screenshot={shot}", page.resolve().as_uri()]
        subprocess.run(args, capture_output=True, timeout=120, check=True)
        print(shot)


if __name__ == "__main__":
    main()
