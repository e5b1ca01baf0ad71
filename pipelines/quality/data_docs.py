"""The Data Docs site, offline and whole.

Offline: GX 1.24's pages load ~15 stylesheets and scripts from public CDNs and its logo from S3.
``make_offline`` rewrites each address in ``URLS`` to the site's copy under ``static/vendor/``
(files from ``pipelines.web_assets``; relative links, so the site works from disk), drops
``integrity``/``crossorigin``, turns links to GX's web site into text, and fixes the depth of the
site's own ``static/`` references (GX misses a validation page's favicon by one level). An unknown
address (a GX upgrade) becomes ``data:,`` with a warning (``tests/test_gx_runtime.py`` fails until
``URLS`` names it); an address in text keeps its colon as ``&#58;``.

Whole: ``publish_site`` renders into ``.<name>.builds/<id>.building`` beside the site, makes it
offline, renames it and points the symbolic link ``<name>`` at it with one ``os.replace``: a
reader, or a killed run, sees the previous or the new whole site. The previous build is kept;
older ones and unfinished builds go at the next publish. A plain folder ``<name>`` (an earlier
site) is moved aside first; a non-empty folder that is not a Data Docs site is refused.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pipelines import web_assets

log = logging.getLogger(__name__)

VENDOR = "static/vendor"
_MARKER = ".gx_runtime_site"  # in every site this module built (also the earlier in-place sites)

_GX_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
#: address in GX's pages (a regular expression) -> path of the local copy under the site root
URLS = {
    re.escape("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"): f"{VENDOR}/bootstrap/dist/css/bootstrap.min.css",
    re.escape("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"): f"{VENDOR}/bootstrap/dist/js/bootstrap.min.js",
    re.escape("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css"): f"{VENDOR}/bootstrap-table/dist/bootstrap-table.min.css",
    re.escape("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js"): f"{VENDOR}/bootstrap-table/dist/bootstrap-table.min.js",
    # GX names 1.19.0 for the filter-control stylesheet and 1.19.1 for its script: one version here
    r"https://unpkg\.com/bootstrap-table@1\.19\.[01]/dist/extensions/filter-control/bootstrap-table-filter-control(\.min)?\.css":
        f"{VENDOR}/bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    re.escape("https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"):
        f"{VENDOR}/bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    re.escape("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css"):
        f"{VENDOR}/bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    re.escape("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js"):
        f"{VENDOR}/bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    re.escape("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css"):
        f"{VENDOR}/bootstrap-dark/dist/css/bootstrap-prefers-dark.css",
    re.escape("https://code.jquery.com/jquery-3.7.1.min.js"): f"{VENDOR}/jquery/dist/jquery.min.js",
    re.escape("https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"): f"{VENDOR}/popper.js/dist/umd/popper.min.js",
    re.escape("https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css"): f"{VENDOR}/fontawesome-free/css/all.min.css",
    re.escape("https://cdn.jsdelivr.net/npm/vega@5"): f"{VENDOR}/vega/build/vega.min.js",
    re.escape("https://cdn.jsdelivr.net/npm/vega-lite@5"): f"{VENDOR}/vega-lite/build/vega-lite.min.js",
    re.escape("https://cdn.jsdelivr.net/npm/vega-embed@6"): f"{VENDOR}/vega-embed/build/vega-embed.min.js",
    # GX's logo, which GX also copies into the site's static/images (the dark-mode one too)
    re.escape(_GX_ASSETS) + r"(logo-long|full_logo_dark)\.png(\?[^\"')\s]*)?": "static/images/logo-long.png",
}
#: an address where a page would load it: an attribute value or a CSS url()
_LOADED = re.compile(r"""(=\s*["']?|url\(\s*["']?)(https?://[^\s"'<>()]+)""", re.IGNORECASE)
_TEXT = re.compile(r"(https?):(?=//)", re.IGNORECASE)  # an address in text, e.g. an exception message
_LINK = re.compile(r"""(<a\b[^>]*?)\s+href=(["'])https?://[^"']*\2""", re.IGNORECASE)
_STATIC = re.compile(r"""((?:src|href)=["'])(?:\.\.?/)*static/""", re.IGNORECASE)
_SRI = re.compile(r"""\s+(integrity|crossorigin)=(["'])[^"']*\2""", re.IGNORECASE)


def make_offline(site: Path) -> list[str]:
    """Rewrite the site's HTML and CSS to load nothing from the network (see the module
    docstring). Returns the addresses it did not know (replaced by ``data:,``)."""
    unknown: set[str] = set()
    for path in [*site.rglob("*.html"), *site.glob("static/styles/*.css")]:
        text = path.read_text(encoding="utf-8")
        up = "../" * (len(path.relative_to(site).parts) - 1)
        for pattern, local in URLS.items():
            text = re.sub(pattern, up + local, text)
        text = _SRI.sub("", _LINK.sub(r"\1", text))
        text = _STATIC.sub(lambda m: m.group(1) + up + "static/", text)

        def other(m: re.Match) -> str:
            unknown.add(m.group(2))
            return m.group(1) + "data:,"

        path.write_text(_TEXT.sub(r"\1&#58;", _LOADED.sub(other, text)), encoding="utf-8")
    if unknown:
        log.warning("Data Docs: addresses not known to pipelines/quality/data_docs.py URLS were "
                    "removed: %s", sorted(unknown))
    return sorted(unknown)


def _builds(site: Path) -> Path:
    return site.parent / f".{site.name}.builds"


def publish_site(site_dir: str | os.PathLike, render: Callable[[Path], None]) -> Path:
    """``render(folder)`` writes a new site into an empty folder; it is made offline and swapped
    in atomically at ``site_dir`` (see the module docstring). Returns ``site_dir/index.html``."""
    site = Path(os.path.abspath(site_dir))
    builds = _builds(site)
    builds.mkdir(parents=True, exist_ok=True)
    if site.exists() and not site.is_symlink():  # a plain folder: an earlier site, or empty
        if not site.is_dir():
            raise NotADirectoryError(f"{site} is not a directory")
        if any(site.iterdir()) and not (site / _MARKER).is_file():
            raise ValueError(f"refusing to publish Data Docs at {site}: it is a non-empty folder that "
                             f"was not built as a Data Docs site (no {_MARKER})")
        site.rename(builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-previous")
    build_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    building = builds / f"{build_id}.building"
    building.mkdir()
    render(building)
    if not (building / "index.html").is_file():
        raise RuntimeError(f"GX did not write {building / 'index.html'}")
    (building / _MARKER).write_text("A Data Docs site built by pipelines.quality (data_docs.publish_site).\n",
                                    encoding="utf-8")
    if (cache := web_assets.ensure_assets()) is not None:
        web_assets.copy_into(cache, building / VENDOR)
    make_offline(building)
    final = builds / build_id
    building.rename(final)
    previous = os.readlink(site) if site.is_symlink() else None
    link = site.parent / f".{site.name}.{build_id}.link"
    link.symlink_to(os.path.relpath(final, site.parent))
    os.replace(link, site)  # the swap
    keep = {final.name, Path(previous).name if previous else None}
    for old in builds.iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in site.parent.glob(f".{site.name}.*.link"):
        stale.unlink(missing_ok=True)
    return site / "index.html"
