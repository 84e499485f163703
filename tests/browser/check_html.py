#!/usr/bin/env python3
"""Checks a page written by ouro::inspect::write_html in a real browser.

    check_html.py PAGE.html CHROMIUM EXPECTED_TYPE [SCREENSHOT.png]

Starts headless Chromium with --remote-debugging-pipe (the DevTools protocol
over file descriptors 3 and 4: no port, no network, nothing beyond the
Python standard library), opens the page from its file, and checks that

  1. the type table is rendered and lists EXPECTED_TYPE,
  2. at least one cycle is rendered,
  3. the explorer drew the graph, and a real mouse click (Input events at the
     node's position, not element.click()) on an object that has referrers
     selects it: the details panel then names it and lists exactly its
     referrers, as the page's own data says.

With SCREENSHOT.png, saves what the page looks like after the click.
Prints what it saw; exits 0 when all holds, 1 otherwise, 2 on a protocol or
browser failure.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60.0


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="ouro-chromium-")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def child_fds():  # Chromium reads commands on fd 3 and replies on fd 4
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "--window-size=1400,1000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds)
        os.close(to_r)
        os.close(from_w)
        self.buffer = b""
        self.next_id = 0
        self.deadline = time.monotonic() + TIMEOUT

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _message(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                raise RuntimeError("no answer from Chromium within %ss" % TIMEOUT)
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe (exit %s)" % self.proc.poll())
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") != self.next_id:
                continue  # events
            if "error" in reply:
                raise RuntimeError("%s failed: %s" % (method, reply["error"]))
            return reply["result"]

    def evaluate(self, session, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise RuntimeError("page script failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")


def main():
    page, chromium, expected_type = sys.argv[1], sys.argv[2], sys.argv[3]
    url = "file://" + os.path.abspath(page)
    browser = Browser(chromium)
    failures = []

    def check(ok, what):
        print(("ok:   " if ok else "FAIL: ") + what)
        if not ok:
            failures.append(what)

    try:
        target = browser.call("Target.createTarget", {"url": url})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        while not browser.evaluate(session, "document.readyState === 'complete' && "
                                            "document.querySelectorAll('#graph .node').length > 0"):
            if time.monotonic() > browser.deadline:
                raise RuntimeError("the page never finished drawing its graph")
            time.sleep(0.1)

        types = browser.evaluate(session, "[...document.querySelectorAll('#type-table tbody tr')]"
                                          ".map(r => r.cells[0].textContent)")
        check(expected_type in types, "type table lists %s (rows: %s)" % (expected_type, types))
        cycles = browser.evaluate(session, "document.querySelectorAll('#cycles .cycle').length")
        check(cycles >= 1, "%s cycle(s) rendered" % cycles)

        # An object drawn in the explorer, other than the selected one, that has referrers.
        pick = browser.evaluate(session, """(() => {
            const data = JSON.parse(document.getElementById('heap-data').textContent);
            for (const g of document.querySelectorAll('#graph .node:not(.center)')) {
              const id = Number(g.dataset.id), n = data.nodes[id];
              if (n.in.length === 0) continue;
              g.scrollIntoView({block: 'center'});
              const r = g.getBoundingClientRect();
              return {id: id, repr: n.repr, x: r.left + r.width / 2, y: r.top + r.height / 2,
                      referrers: n.in.map(a => data.nodes[a[0]].repr)};
            }
            return null;
        })()""")
        check(pick is not None, "the explorer shows an object with referrers to click")
        if pick:
            for kind in ("mousePressed", "mouseReleased"):
                browser.call("Input.dispatchMouseEvent", {"type": kind, "x": pick["x"], "y": pick["y"],
                                                          "button": "left", "clickCount": 1}, session)
            shown = browser.evaluate(session, """({
                title: document.querySelector('#details h3').textContent,
                referrers: [...document.querySelectorAll('#referrers li a')].map(a => a.textContent),
                center: document.querySelector('#graph .node.center').dataset.id})""")
            check(shown["title"] == pick["repr"], "clicking %r selects it (panel: %r)" % (pick["repr"], shown["title"]))
            check(int(shown["center"]) == pick["id"], "the graph is redrawn around it")
            check(sorted(shown["referrers"]) == sorted(pick["referrers"]) and shown["referrers"],
                  "the panel lists its referrers %s (shown: %s)" % (pick["referrers"], shown["referrers"]))
            if len(sys.argv) > 4:
                browser.evaluate(session, "window.scrollTo(0, 0)")
                png = browser.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
                with open(sys.argv[4], "wb") as f:
                    f.write(base64.b64decode(png))
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        print("error: %s" % e)
        return 2
    finally:
        browser.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
