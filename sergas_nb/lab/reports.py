"""HTML reports of executed notebooks whose widgets and plots render offline.

nbconvert links require.js and the widget renderer from public CDNs; a report opened on a
machine without network then shows blank widgets. We fetch the two npm packages once (the npm
registry is reachable where the demo runs), copy what the renderer needs next to the reports and
point nbconvert at those relative paths. Plots are PNG images inside the HTML already.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from sergas_nb.errors import ZohoError

HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"  # the renderer for ipywidgets 8 (protocol 2)
REQUIREJS = "requirejs@2.3.8"
STATIC = "static"
_CDN_RE = re.compile(r"""<script[^>]+src=["']https?://[^"']+["'][^>]*>\s*</script>""", re.I)


class ReportError(ZohoError):
    """The offline widget renderer could not be prepared."""


def ensure_widget_assets(cache_dir: Path) -> Path:
    """Install the pinned renderer packages into ``cache_dir`` (once) and return node_modules."""
    modules = cache_dir / "node_modules"
    embed = modules / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js"
    if embed.exists() and (modules / "requirejs" / "require.js").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise ReportError(
            "npm is needed once to fetch the offline widget renderer; install nodejs and npm (apt-get install -y npm)"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
            str(cache_dir),
            HTML_MANAGER,
            REQUIREJS,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 or not embed.exists():
        raise ReportError(f"npm install of the widget renderer failed: {proc.stderr.strip()[-500:]}")
    return modules


def copy_static(modules: Path, reports_dir: Path) -> Path:
    """Copy the renderer (script and its fonts) and require.js into ``reports_dir/static``."""
    static = reports_dir / STATIC
    static.mkdir(parents=True, exist_ok=True)
    dist = modules / "@jupyter-widgets" / "html-manager" / "dist"
    for f in dist.iterdir():
        # embed-amd.js loads its fonts relative to itself; the other bundles and maps are unused.
        if f.name == "embed-amd.js" or f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            shutil.copy2(f, static / f.name)
    shutil.copy2(modules / "requirejs" / "require.js", static / "require.js")
    return static


def export_html(notebook: Path, html_path: Path) -> Path:
    """Write ``notebook`` as HTML that loads its scripts from ``./static`` beside it only."""
    exporter = HTMLExporter(template_name="lab")
    exporter.widget_renderer_url = f"{STATIC}/embed-amd.js"
    exporter.require_js_url = f"{STATIC}/require.js"
    # No math in our notebooks: MathJax would otherwise come from a CDN.
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nbformat.read(str(notebook), as_version=4))
    body = _CDN_RE.sub("", body)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def remote_urls(html: str) -> list[str]:
    """What ``html`` would load from off the machine: script/img/iframe sources and stylesheets.

    Plain hyperlinks (``<a href>``) load nothing and are allowed.
    """
    sources = re.findall(r"""<(?:script|img|iframe)\b[^>]*\bsrc=["'](https?://[^"']+)["']""", html, re.I)
    sheets = re.findall(r"""<link\b[^>]*\bhref=["'](https?://[^"']+)["']""", html, re.I)
    return sources + sheets
