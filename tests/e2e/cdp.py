"""A small Chromium driver over the DevTools protocol (websocket-client), for the e2e tests
that play a person in a real browser: the OAuth login and consent pages, Swagger UI.

Clicks are mouse events at an element's centre and typing is inserted text, as a
person's would be; pages are followed across popups (Swagger UI's OAuth window).
"""

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

import websocket

CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


class Page:
    def __init__(self, browser, target_id, session_id):
        self.browser, self.target_id, self.session_id = browser, target_id, session_id
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Network.enable")

    def send(self, method, **params):
        return self.browser.send(method, params, session_id=self.session_id)

    def evaluate(self, expression):
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression[:80]}: {answer['exceptionDetails'].get('text')}")
        return answer.get("result", {}).get("value")

    def goto(self, url):
        self.send("Page.navigate", url=url)
        time.sleep(0.2)
        self.wait_loaded()

    def wait_loaded(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with contextlib.suppress(RuntimeError):  # a page between two documents
                if self.evaluate("document.readyState") == "complete":
                    return
            time.sleep(0.1)
        raise TimeoutError("the page did not load")

    def wait_for(self, expression, timeout=30):
        """Until the JavaScript ``expression`` is truthy; its value."""
        deadline = time.time() + timeout
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"
        while time.time() < deadline:
            try:
                value = self.evaluate(probe)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"never true: {expression[:120]}")

    def url(self):
        return self.evaluate("location.href")

    def text(self):
        return self.evaluate("document.body ? document.body.innerText : ''")

    def click(self, selector_js):
        """A mouse click at the centre of the element ``selector_js`` (a JS expression) evaluates to."""
        box = self.wait_for(
            f"(() => {{ const e = {selector_js}; if (!e) return null; e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return r.width ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type_into(self, selector_js, text):
        self.click(selector_js)
        self.evaluate(f"(() => {{ const e = {selector_js}; e.focus(); e.select && e.select(); }})()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        return path


class Browser:
    """Headless Chromium with one page; ``events`` records what the protocol reported."""

    def __init__(self, width=1200, height=900):
        self.profile = tempfile.mkdtemp(prefix="rest_api_cdp_")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
             "--disable-popup-blocking", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while len(found := _read(port_file).split()) != 2:
            if time.time() > deadline:
                self.close()
                raise TimeoutError("Chromium did not start")
            time.sleep(0.1)
        port, path = found
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}{path}", timeout=60, suppress_origin=True
        )
        self.ids = itertools.count(1)
        self.events = []
        self.send("Target.setDiscoverTargets", {"discover": True})
        targets = self.send("Target.getTargets")["targetInfos"]
        first = next(t for t in targets if t["type"] == "page")
        self.page = self.attach(first["targetId"])

    def attach(self, target_id):
        session = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        return Page(self, target_id, session)

    def send(self, method, params=None, session_id=None):
        message = {"id": next(self.ids), "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self.ws.send(json.dumps(message))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == message["id"]:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def pump(self, seconds=0.2):
        """Read the events that arrived meanwhile."""
        self.ws.settimeout(seconds)
        try:
            with contextlib.suppress(websocket.WebSocketTimeoutException):  # nothing more arrived
                while True:
                    self.events.append(json.loads(self.ws.recv()))
        finally:
            self.ws.settimeout(60)

    def new_page_target(self, known, timeout=30):
        """The id of a page opened after ``known`` (a set of target ids): a popup."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.pump()
            for target in self.send("Target.getTargets")["targetInfos"]:
                if target["type"] == "page" and target["targetId"] not in known:
                    return target["targetId"]
        raise TimeoutError("no popup opened")

    def page_ids(self):
        return {t["targetId"] for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"}

    def requests(self):
        """(url, headers) of every request the pages sent, in order."""
        self.pump()
        return [
            (e["params"]["request"]["url"], e["params"]["request"].get("headers", {}))
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def redirects(self):
        """The Location of every redirect answer the pages got."""
        self.pump()
        found = []
        for e in self.events:
            if e.get("method") == "Network.requestWillBeSent" and e["params"].get("redirectResponse"):
                found.append(e["params"]["request"]["url"])
        return found

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
