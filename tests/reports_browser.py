"""Opening report pages as a person would, in a real headless Chromium with the network blocked,
and LibreOffice Calc rendering a workbook the way a person opens it (helpers of
tests/test_reports_offline.py).

Chromium (Debian ``chromium``, installed by ``python3.11 dwh.py test``) runs with a fresh profile,
driven over the DevTools protocol (``--remote-debugging-port=0``; the port is read from the
profile's ``DevToolsActivePort``) by a small client on the pinned ``websockets`` package. The
network is blocked three ways: every request goes to a proxy that does not exist
(``--proxy-server=127.0.0.1:9``), every host name fails to resolve (``--host-resolver-rules``),
and the page's network is emulated offline (``Network.emulateNetworkConditions``). A page that
tries to load anything from the network therefore gets a failed request, which is recorded.

What a visit records (``Visit``): every request the page made (URL), every failed request
(``Network.loadingFailed``, or an HTTP status ≥ 400), every console message of level error or
warning (``Runtime.consoleAPICalled``), uncaught exceptions (``Runtime.exceptionThrown``), the
browser's own log entries of level error (``Log.entryAdded``: blocked resources, CSP, …), and any
JavaScript dialog a page opened (an executed ``alert(1)`` is one); the page's visible text
(``document.body.innerText``) and a full-page screenshot (PNG) are kept.

LibreOffice: ``soffice --headless --convert-to html`` renders every sheet of a workbook as Calc
displays it — number formats applied (what a person reads: ``5,428`` or ``5,428.00``), text as
text — into one HTML page, which is then opened in Chromium like the other pages. Chosen over
reading cells with a library because a library shows stored values, not what a person sees; a
formula would be evaluated by Calc on load (its result, not the source text, would appear).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-features=Translate,MediaRouter,OptimizationHints", "--disable-quic",
         # the network, blocked: a proxy that does not exist, and no host name resolves
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
         "--host-resolver-rules=MAP * ~NOTFOUND"]


@dataclass
class Visit:
    url: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    tables: list[dict] = field(default_factory=list)  # {"title": text before the table, "rows": [[cell text]]}
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        """Everything a person would notice or a developer would fix."""
        return ([f"failed request: {f}" for f in self.failed] + [f"console: {c}" for c in self.console]
                + [f"exception: {e}" for e in self.exceptions] + [f"log: {e}" for e in self.log_errors]
                + [f"dialog: {d}" for d in self.dialogs])

    @property
    def network_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:", "blob:"))]


class Chromium:
    """One headless Chromium with a fresh profile in ``folder``; ``visit`` opens pages in it."""

    def __init__(self, folder: Path, width: int = 1280, height: int = 900):
        from websockets.sync.client import connect

        assert Path(CHROMIUM).exists(), "chromium is installed by `python3.11 dwh.py test` (Debian package chromium)"
        self.folder = folder
        self.profile = folder / "chrome-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.stderr = open(folder / "chromium.log", "wb")
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                                      f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start: {(folder / 'chromium.log').read_text()[-2000:]}")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self._id = 0
        self.events: list[dict] = []
        self.width, self.height = width, height

    # -- protocol -----------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            data = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if data.get("id") == self._id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data.get("result", {})
            self.events.append(data)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                return

    # -- a visit ------------------------------------------------------------------------------
    def visit(self, url: str, screenshot: Path | None = None, settle: float = 1.0, timeout: float = 60) -> Visit:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.send(method, session=session)
        self.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                        "uploadThroughput": -1}, session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                          "deviceScaleFactor": 1, "mobile": False}, session=session)
        self.events = []
        self.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        handled: set[int] = set()

        def dismiss_dialogs() -> None:
            # a dialog (an executed alert()) blocks the page until it is answered: answer it, it is recorded below
            for i, e in enumerate(list(self.events)):
                if e.get("method") == "Page.javascriptDialogOpening" and e.get("sessionId") == session and i not in handled:
                    handled.add(i)
                    self.send("Page.handleJavaScriptDialog", {"accept": True}, session=session)

        while not any(e.get("method") == "Page.loadEventFired" and e.get("sessionId") == session for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load in {timeout} s")
            self.pump(0.2)
            dismiss_dialogs()
        for _ in range(max(1, int(settle / 0.2))):  # late requests, console messages, dialogs
            self.pump(0.2)
            dismiss_dialogs()
        visit = Visit(url)
        failed_ids: set[str] = set()
        for e in self.events:
            if e.get("sessionId") != session:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Network.requestWillBeSent":
                visit.requests.append(p["request"]["url"])
            elif m == "Network.loadingFailed" and p["requestId"] not in failed_ids:
                failed_ids.add(p["requestId"])
                visit.failed.append(f"{_request_url(self.events, p['requestId'])} ({p.get('errorText')})")
            elif m == "Network.responseReceived" and p["response"].get("status", 200) >= 400:
                visit.failed.append(f"{p['response']['url']} (HTTP {p['response']['status']})")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                visit.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                visit.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                visit.log_errors.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Page.javascriptDialogOpening":
                visit.dialogs.append(f"{p.get('type')}: {p.get('message')}")
        visit.text = self.evaluate("document.body ? document.body.innerText : ''", session)
        visit.html = self.evaluate("document.documentElement.outerHTML", session)
        visit.tables = self.evaluate(TABLES_JS, session) or []
        if screenshot is not None:
            metrics = self.send("Page.getLayoutMetrics", session=session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = self.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": max(size["width"], 1), "height": min(max(size["height"], 1), 16000),
                         "scale": 1}}, session=session)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            visit.screenshot = screenshot
        self.send("Target.closeTarget", {"targetId": target})
        return visit

    def evaluate(self, expression: str, session: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
            self.stderr.close()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# every table of the page as the browser shows it: the text of the element before it (a heading)
# and each cell's visible text
TABLES_JS = """[...document.querySelectorAll('table')].map(t => ({
  title: (t.previousElementSibling ? t.previousElementSibling.innerText : '').trim(),
  rows: [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))}))"""


def _request_url(events: list[dict], request_id: str) -> str:
    for e in events:
        if e.get("method") == "Network.requestWillBeSent" and e["params"].get("requestId") == request_id:
            return e["params"]["request"]["url"]
    return request_id


def render_workbook(xlsx: Path, out_dir: Path) -> Path:
    """The workbook as LibreOffice Calc shows it, every sheet one table of an HTML page (number
    formats applied); a fresh LibreOffice profile in ``out_dir``."""
    assert Path(SOFFICE).exists(), "LibreOffice Calc is installed by `python3.11 dwh.py test` (libreoffice-calc-nogui)"
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / "lo-profile"
    env = {**os.environ, "HOME": str(out_dir)}
    proc = subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                           "--convert-to", "html", "--outdir", str(out_dir), str(xlsx)],
                          capture_output=True, text=True, timeout=300, env=env)
    html = out_dir / (xlsx.stem + ".html")
    assert proc.returncode == 0 and html.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return html
