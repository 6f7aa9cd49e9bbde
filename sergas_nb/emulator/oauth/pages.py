"""HTML of the consent and error pages, as string constants (no template files to package).

Everything interpolated goes through html.escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; }
main { max-width: 32rem; margin: 4rem auto; background: #fff; border-radius: 8px; padding: 2rem;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.3rem; margin-top: 0; } .muted { color: #555; font-size: .9rem; }
ul.scopes li { font-family: ui-monospace, monospace; margin: .25rem 0; }
button { font-size: 1rem; padding: .5rem 1.5rem; border-radius: 4px; border: 1px solid #888; cursor: pointer; }
button.accept { background: #1a73e8; color: #fff; border-color: #1a73e8; }
.error h1 { color: #b00020; }
"""

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - Zoho Accounts (local emulator)</title>
<style>{style}</style></head>
<body><main class="{kind}">
{body}
<p class="muted">Local Zoho emulator (sergas-nb): no real Zoho account is involved.</p>
</main></body>
</html>
"""

_CONSENT = """<h1>{client} would like to access your Zoho CRM data</h1>
<p class="muted">Signed in as <strong>{user}</strong></p>
<p>The application asks for these scopes:</p>
<ul class="scopes">
{scopes}
</ul>
<form method="post" action="{action}">
{hidden}
<button class="accept" type="submit" name="action" value="accept" id="accept">Accept</button>
<button type="submit" name="action" value="reject" id="reject">Reject</button>
</form>
"""

_ERROR = """<h1>{title}</h1>
<p>{message}</p>
"""


def _page(title: str, body: str, kind: str) -> str:
    return _PAGE.format(title=escape(title), style=_STYLE, body=body, kind=kind)


def consent_page(
    client_name: str, scopes: tuple[str, ...], user_email: str, action: str, params: Mapping[str, str]
) -> str:
    """The consent page; ``params`` (the authorize query) go back as hidden form fields."""
    items = "\n".join(f"<li>{escape(s)}</li>" for s in scopes)
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items() if k != "action"
    )
    body = _CONSENT.format(
        client=escape(client_name), user=escape(user_email), scopes=items, action=escape(action), hidden=hidden
    )
    return _page("Consent", body, "consent")


def error_page(title: str, message: str) -> str:
    """An error page naming what is wrong with the authorize request."""
    return _page(title, _ERROR.format(title=escape(title), message=escape(message)), "error")
