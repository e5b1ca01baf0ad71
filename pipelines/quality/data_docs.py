"""The Data Docs site, offline and whole: every stylesheet, script, font and image its pages load
is a file inside the site, and a rebuild never leaves a half site behind.

Offline
    GX 1.24's page templates load about fifteen stylesheets and scripts from public CDNs (Bootstrap,
    Bootstrap Table, the datepicker, jQuery, Popper, Font Awesome, Vega) and its logo from S3,
    which fail or crawl on many networks (in China, among others). After GX renders a site,
    ``make_offline`` rewrites every such address in its HTML and CSS to a copy under
    ``static/vendor/`` (relative links, so the site also works opened from disk or moved), drops
    the now pointless ``integrity``/``crossorigin`` attributes (which would make a browser refuse
    a ``file://`` script), turns links to GX's web site into plain text, and points every
    reference to the site's own ``static/`` files at the right depth (GX 1.24 misses the favicon
    of a validation page by one level). An address it does
    not know (a GX upgrade changing its templates) becomes ``data:,``, is logged, and
    ``tests/test_gx_runtime.py`` fails until ``URLS`` names it. An address in text (an exception
    message quoting SQLAlchemy's help page) stays readable, its colon written as ``&#58;``.

    The copies are the same libraries taken from the npm registry: ``PACKAGES`` pins each
    package to the version GX's templates name (Vega, Vega-Lite and Vega-Embed, which the
    templates name by major version only: the newest release of that major version when this
    was written) and to the registry's sha512 integrity of its tarball, and names the few files
    taken from it (~3.3 MB in all, the Font Awesome webfonts included). They are not kept in
    git: ``ensure_assets`` fetches each tarball once per machine with the machine's own ``npm``
    client (``npm pack``; so a registry mirror configured for npm is used), checks its
    integrity, and extracts those files into a cache folder (``$DWH_DATA_DOCS_ASSETS``, default
    ``~/.cache/dwh/data_docs_assets``). The first Data Docs build fetches them; running
    ``python -m pipelines.quality.data_docs`` does it ahead of time (a machine that will run
    offline). Without ``npm`` or without the registry the site is still built and still loads
    nothing from the network, only unstyled; the build logs a warning saying so.

Whole
    ``publish_site`` has GX render the new site into a fresh folder beside the published one
    (``.<name>.builds/<build id>.building``), makes it offline, renames it to its final name and
    then points ``<name>`` — a symbolic link — at it with one ``os.replace`` (atomic on POSIX).
    A reader, or a run killed at any moment, sees the previous whole site or the new whole site.
    The previous build is kept (a browser may still be reading it); older builds and any
    unfinished ``.building`` folder are removed by the next publish. A ``<name>`` that is still a
    plain folder (built by an earlier version, or created empty) is moved into the builds folder
    first; a non-empty folder that is not a Data Docs site is refused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR = "static/vendor"
ASSETS_ENV = "DWH_DATA_DOCS_ASSETS"
_MARKER = ".gx_runtime_site"  # in every site this module built (also the earlier in-place sites)


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    files: tuple[str, ...]  # paths in the package; a path ending in / takes the whole folder

    @property
    def folder(self) -> str:
        return self.name.split("/")[-1]


PACKAGES = (
    Package("bootstrap", "4.3.1", "sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag==",
            ("dist/css/bootstrap.min.css", "dist/js/bootstrap.min.js")),
    Package("bootstrap-table", "1.19.1", "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA==",
            ("dist/bootstrap-table.min.css", "dist/bootstrap-table.min.js",
             "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
             "dist/extensions/filter-control/bootstrap-table-filter-control.min.js")),
    Package("bootstrap-datepicker", "1.9.0", "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA==",
            ("dist/css/bootstrap-datepicker.min.css", "dist/js/bootstrap-datepicker.min.js")),
    Package("@forevolve/bootstrap-dark", "1.1.0", "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A==",
            ("dist/css/bootstrap-prefers-dark.css",)),
    Package("jquery", "3.7.1", "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            ("dist/jquery.min.js",)),
    Package("popper.js", "1.12.9", "sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg==",
            ("dist/umd/popper.min.js",)),
    Package("@fortawesome/fontawesome-free", "6.6.0", "sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow==",
            ("css/all.min.css", "webfonts/")),
    Package("vega", "5.33.1", "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
            ("build/vega.min.js",)),
    Package("vega-lite", "5.23.0", "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
            ("build/vega-lite.min.js",)),
    Package("vega-embed", "6.29.0", "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
            ("build/vega-embed.min.js",)),
)

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


# --------------------------------------------------------------------------- vendored files


def assets_dir() -> Path:
    """The machine's cache of the vendored files, one folder per package and version."""
    if os.environ.get(ASSETS_ENV):
        return Path(os.environ[ASSETS_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dwh" / "data_docs_assets"


def _npm_pack(package: Package, work: Path) -> bytes:
    """The package's tarball, through the machine's npm client."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    proc = subprocess.run([npm, "pack", f"{package.name}@{package.version}", "--silent", "--pack-destination", str(work)],
                          cwd=work, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"npm pack {package.name}@{package.version}: {proc.stderr.strip()[-500:]}")
    (tgz,) = work.glob("*.tgz")
    return tgz.read_bytes()


def _fetch(package: Package, into: Path) -> None:
    """Download ``package``, check its integrity and extract its files into ``into`` (atomically:
    a folder that exists is complete)."""
    with tempfile.TemporaryDirectory(prefix="npm-", dir=into.parent) as work:
        data = _npm_pack(package, Path(work))
        algo, _, digest = package.integrity.partition("-")
        if base64.b64encode(hashlib.new(algo, data).digest()).decode() != digest:
            raise RuntimeError(f"{package.name}@{package.version}: the tarball does not match its pinned integrity")
        staged = Path(work) / "files"
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                rel = member.name.split("/", 1)[-1]  # tarballs hold package/<path>
                if member.isfile() and any(rel == f or (f.endswith("/") and rel.startswith(f)) for f in package.files):
                    target = staged / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
        os.replace(staged, into)


def ensure_assets(cache: Path | None = None) -> Path | None:
    """The cache folder holding every package's files, fetching the missing ones; None (and a
    logged warning) when one cannot be had."""
    cache = cache or assets_dir()
    cache.mkdir(parents=True, exist_ok=True)
    try:
        for package in PACKAGES:
            folder = cache / f"{package.folder}-{package.version}"
            if not folder.is_dir():
                _fetch(package, folder)
    except Exception as e:  # no npm, no registry: the site is still built, only unstyled
        log.warning("Data Docs are built without their stylesheets and scripts (%s); fetch them with "
                    "`python -m pipelines.quality.data_docs` where the npm registry can be reached", e)
        return None
    return cache


def _copy_vendor(cache: Path, site: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(cache / f"{package.folder}-{package.version}", site / VENDOR / package.folder)


# ----------------------------------------------------------------------------------- offline


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
        # the site's own static files, from the page's depth (GX 1.24 writes the favicon of a
        # validation page one level short)
        text = _STATIC.sub(lambda m: m.group(1) + up + "static/", text)

        def other(m: re.Match) -> str:
            unknown.add(m.group(2))
            return m.group(1) + "data:,"

        # text keeps showing the address, its colon written as an entity (no literal link left)
        path.write_text(_TEXT.sub(r"\1&#58;", _LOADED.sub(other, text)), encoding="utf-8")
    if unknown:
        log.warning("Data Docs: addresses not known to pipelines/quality/data_docs.py URLS were "
                    "removed: %s", sorted(unknown))
    return sorted(unknown)


# ------------------------------------------------------------------------------ atomic swap


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
    cache = ensure_assets()
    if cache is not None:
        _copy_vendor(cache, building)
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


if __name__ == "__main__":  # fetch the vendored files ahead of time
    logging.basicConfig(level=logging.INFO)
    where = ensure_assets()
    print(f"Data Docs assets in {where}" if where else "could not fetch the Data Docs assets (see the warning)")
    sys.exit(0 if where else 1)
