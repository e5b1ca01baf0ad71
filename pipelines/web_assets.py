"""Front-end files from the npm registry, pinned, cached once per machine: the stylesheets and
scripts GX's Data Docs pages load (they name public CDNs, which fail or crawl on many networks,
in China among others; ``pipelines.quality.data_docs`` copies these files into every site).

``PACKAGES`` pins each package to the version GX's templates name (Vega, Vega-Lite and Vega-Embed,
named by major version only: the newest release of that major version when this was written) and
to the registry's sha512 integrity of its tarball, and names the files taken from it (~3.3 MB);
``CDN_COPIES`` maps each CDN address GX's pages name to its copy.
``ensure_assets`` fetches each tarball with the machine's own ``npm pack`` (a registry mirror
configured for npm is used), checks its integrity and extracts those files into
``$DWH_DATA_DOCS_ASSETS`` (default ``~/.cache/dwh/data_docs_assets``). ``dwh.py setup`` runs
``python -m pipelines.web_assets``; without npm or the registry the pages still load nothing from
the network, only unstyled (a warning says so).
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
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_ENV = "DWH_DATA_DOCS_ASSETS"
VENDOR = "static/vendor"  # where a site keeps the copies


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
CDN_COPIES = {
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
                    "`python -m pipelines.web_assets` where the npm registry can be reached", e)
        return None
    return cache


def copy_into(cache: Path, folder: Path) -> None:
    """Every package's files, from the cache, into ``folder/<package>/``."""
    for package in PACKAGES:
        shutil.copytree(cache / f"{package.folder}-{package.version}", folder / package.folder)


if __name__ == "__main__":  # fetch the files ahead of time (dwh.py setup)
    logging.basicConfig(level=logging.INFO)
    where = ensure_assets()
    print(f"front-end files in {where}" if where else "could not fetch the front-end files (see the warning)")
    sys.exit(0 if where else 1)
