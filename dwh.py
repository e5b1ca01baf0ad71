#!/usr/bin/env python3
"""Set up and run the distributor data warehouse. Needs only Python 3.11 (standard library).

    python3.11 dwh.py run      set up, generate sample data, run the whole pipeline, print a summary
    python3.11 dwh.py test     set up and run the test suite (what CI runs: .ci/run)
    python3.11 dwh.py ui       open the Dagster UI on the same instance (http://127.0.0.1:3000)

``run`` and ``ui`` take ``--config DIR``: a company's configuration folder (its company.yml, see
docs/onboarding.md), e.g. ``python3.11 dwh.py run --config examples/northwind``; its warehouse,
reports and Dagster home then live in ``var/<folder name>/`` (unless DWH_HOME is set).

"Set up" is idempotent: it creates ``.venv`` if missing, installs the pinned
``requirements.txt`` when it changed since the last install (the project itself runs from this
folder, on PYTHONPATH), and prepares the dbt manifest (``dagster-dbt project prepare-and-package``). Everything
the pipeline generates goes under ``var/`` (override with DWH_HOME).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed-requirements.sha256"


SETUP_LOG = ROOT / "var" / "logs" / "setup.log"


def sh(cmd: list[str], what: str | None = None, optional: bool = False, **kw) -> bool:
    """Run a command; with ``what``, print that one line and send the command's output to
    var/logs/setup.log (shown if it fails), so the terminal stays readable."""
    if what is None:
        print("+ " + " ".join(str(c) for c in cmd), flush=True)
        subprocess.run([str(c) for c in cmd], check=True, **kw)
        return True
    print(f"  {what} ...", flush=True)
    SETUP_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(SETUP_LOG, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(str(c) for c in cmd)}\n")
        log.flush()
        proc = subprocess.run([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, **kw)
    if proc.returncode != 0:
        if optional:
            print(f"  warning: {what} failed (exit {proc.returncode}); see {SETUP_LOG}", flush=True)
            return False
        tail = SETUP_LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        sys.exit("\n".join(tail) + f"\n{what} failed (exit {proc.returncode}); the whole output is in {SETUP_LOG}")
    return True


def setup() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"dwh.py needs Python 3.11 (the pinned wheels are for 3.11); this is {sys.version.split()[0]}")
    if not PY.exists():
        sh([sys.executable, "-m", "venv", VENV], "creating the virtual environment .venv")
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        sh([PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", ROOT / "requirements.txt"],
           f"installing the pinned requirements (a few minutes the first time; log: {SETUP_LOG.relative_to(ROOT)})")
        STAMP.write_text(digest)
    env = venv_env()
    sh([BIN / "dagster-dbt", "project", "prepare-and-package", "--file", ROOT / "pipelines/transform/project.py"],
       "preparing the dbt project", cwd=ROOT, env=env)
    # Data Docs' stylesheets and scripts (pinned npm packages, checked against the registry's
    # checksums), fetched once per machine while the registry is reachable: the site works offline
    sh([PY, "-m", "pipelines.web_assets"], "fetching Data Docs' stylesheets and scripts (once per machine)",
       optional=True, cwd=ROOT, env=env)


SYSTEM_PACKAGES = {  # Debian package -> a file that shows it is installed
    "postgresql": "/usr/lib/postgresql",  # real PostgreSQL for the dbt portability test
    "chromium": "/usr/bin/chromium",  # headless browser for the dashboard test
    "libreoffice-calc-nogui": "/usr/lib/libreoffice/program/libsclo.so",  # renders a workbook as a person opens it
    "fonts-noto-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Chinese text in the screenshots
}


def ensure_system_packages() -> None:
    """Install the Debian packages the tests need (the test command installs what it needs)."""
    missing = [pkg for pkg, marker in SYSTEM_PACKAGES.items() if not Path(marker).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        print(f"warning: cannot install {missing} (needs root and apt-get); tests that need them will fail", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sh(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, stdout=subprocess.DEVNULL)


def take_config(args: list[str], env: dict[str, str]) -> list[str]:
    """Remove ``--config DIR`` from ``args``; point DWH_CONFIG at DIR and DWH_HOME (unless set)
    at var/<DIR's name>, so each company has its own warehouse, reports and Dagster home."""
    rest, i = [], 0
    while i < len(args):
        if args[i] == "--config" and i + 1 < len(args) or args[i].startswith("--config="):
            value = args[i].split("=", 1)[1] if "=" in args[i] else args[i + 1]
            folder = Path(value).resolve()
            if not (folder / "company.yml").exists():
                sys.exit(f"--config {value}: no company.yml in {folder}")
            env["DWH_CONFIG"] = str(folder)
            if "DWH_HOME" not in os.environ:
                env["DWH_HOME"] = str(ROOT / "var" / folder.name)
                env["DAGSTER_HOME"] = str(Path(env["DWH_HOME"]) / "dagster_home")
            i += 1 if "=" in args[i] else 2
            continue
        rest.append(args[i])
        i += 1
    return rest


def generate_if_empty(args: list[str], env: dict[str, str]) -> list[str]:
    """Take ``--scale S --seed N --regenerate`` from ``args``; when the company has no landing
    zone of its own and ``$DWH_HOME/landing`` is empty (or ``--regenerate``), generate the sample
    data there first (``python -m sample_data``, a package apart from the pipeline's)."""
    scale, seed, regenerate, rest, i = "default", "42", False, [], 0
    while i < len(args):
        if args[i] in ("--scale", "--seed") and i + 1 < len(args):
            scale, seed = (args[i + 1], seed) if args[i] == "--scale" else (scale, args[i + 1])
            i += 2
            continue
        if args[i] == "--regenerate":
            regenerate = True
        else:
            rest.append(args[i])
        i += 1
    probe = subprocess.run(
        [str(PY), "-c", "from datetime import datetime, timedelta; from zoneinfo import ZoneInfo; "
                        "from pipelines.company import company; from pipelines.settings import paths; "
                        "from sample_data import GeneratorConfig; c = company(); "
                        f"days = GeneratorConfig.from_preset({scale!r}).days; "
                        "end = datetime.now(ZoneInfo(c.timezone)).date() - timedelta(days=1); "
                        "print(paths().landing); print(int(c.landing is not None)); print(end - timedelta(days=days - 1)); "
                        "print(days)"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    landing, own, start, days = Path(probe[0]), probe[1] == "1", probe[2], probe[3]
    if not own and (regenerate or not landing.exists() or not any(landing.iterdir())):
        # the sample ends yesterday in business time, so the first run's freshness checks pass
        sh([PY, "-m", "sample_data", "--out", landing.parent, "--scale", scale, "--seed", seed, "--clean",
            "--start-date", start, "--days", days, "--no-progress"],
           f"generating sample data (scale {scale}, seed {seed}, {start} to yesterday) into {landing}", cwd=ROOT, env=env)
    return rest


def venv_env() -> dict[str, str]:
    env = os.environ.copy()
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # dagster-dbt calls `dbt` by name
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("DWH_HOME", str(ROOT / "var"))
    env["DAGSTER_HOME"] = str(Path(env["DWH_HOME"]) / "dagster_home")
    env.setdefault("GX_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    # a semaphore Dagster's multiprocessing leaves at exit: harmless, and not for the terminal
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    return env


def main() -> int:
    cmd, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd not in {"run", "test", "ui", "setup"}:
        print(__doc__)
        return 2
    setup()
    env = venv_env()
    rest = take_config(rest, env)
    if cmd == "setup":
        return 0
    if cmd == "run":
        rest = generate_if_empty(rest, env)
        return subprocess.call([str(PY), "-m", "pipelines", "run", *rest], cwd=ROOT, env=env)
    if cmd == "test":
        ensure_system_packages()
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT, env=env)
    # ui: same instance (DAGSTER_HOME under DWH_HOME), dagster.yaml copied in first
    subprocess.check_call([str(PY), "-m", "pipelines", "instance"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    # no -m: pyproject.toml [tool.dagster] names the module and the code location (distributor_dwh),
    # the location the command line records its runs under (pipelines/runs.py)
    args = [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", "3000", *rest]
    os.chdir(ROOT)
    os.execve(args[0], args, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
