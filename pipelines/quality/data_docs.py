"""The Data Docs site, offline and whole. Offline: ``make_offline`` points every CDN address of
GX 1.24's pages at the site's copy (``web_assets.CDN_COPIES``; relative links), drops
``integrity``/``crossorigin``, turns links to GX's web site into text, fixes the depth of the
site's own ``static/`` links; an unknown address becomes ``data:,`` with a warning and an address
in text keeps its colon as ``&#58;``. Whole: ``publish_site`` renders into
``.<name>.builds/<id>.building``, makes it offline, renames it and points the symbolic link
``<name>`` at it with one ``os.replace``: a reader or a killed run sees the previous or the new
whole site. The previous build is kept, older ones go at the next publish; a plain folder
``<name>`` (an earlier site) is moved aside, a non-empty folder that is no Data Docs site refused.
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

VENDOR = web_assets.VENDOR
URLS = web_assets.CDN_COPIES
_MARKER = ".gx_runtime_site"  # in every site this module built (also the earlier in-place sites)

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
        log.warning("Data Docs: addresses not known to pipelines/web_assets.py CDN_COPIES were "
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
