"""tests/ui/uilib.py - shared by tests/ui/test_ui.py and scripts/bench-ui.sh:
a real `infrapivot serve` on a free loopback port and headless Chromium
(chromium-driver + python3-selenium, Debian packages) at 1280x800.

Run with /usr/bin/python3 (Debian's selenium)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

SKIP = 77
CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
DRIVER = "/usr/bin/chromedriver"


def have_browser():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(DRIVER) and any(os.path.exists(c) for c in CHROMIUM)


def ensure_browser(root):
    """The browser, installed by scripts/setup.sh when missing (as root);
    exits 77 only when it truly cannot be installed."""
    if have_browser():
        return
    if os.geteuid() == 0:
        subprocess.run([os.path.join(root, "scripts/setup.sh"), "--packages-only"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not have_browser():
        print("SKIP: chromium, chromium-driver or python3-selenium cannot be installed")
        sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    """`infrapivot serve` on a free loopback port, stopped by stop()."""

    def __init__(self, binary, db, log, *args):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [binary, "serve", "--db", db, "--listen", "127.0.0.1:%d" % self.port,
             "--threads", "2"] + list(args), stderr=open(log, "ab"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: see " + log)
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=5).read()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)  # polling for the port to open, not a timed wait
        raise RuntimeError("server did not start: see " + log)

    def get(self, path, token=None):
        """(status, headers, body bytes) of GET path."""
        rq = urllib.request.Request(self.url + path)
        if token:
            rq.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(rq, timeout=60) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, token=None):
        st, _, body = self.get(path, token)
        if st != 200:
            raise RuntimeError("%s: %d %s" % (path, st, body[:200]))
        return json.loads(body)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def browser(download_dir=None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for c in CHROMIUM:
        if os.path.exists(c):
            o.binary_location = c
            break
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,800", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-default-apps"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if download_dir:
        o.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                            "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.set_window_size(1280, 800)
    if download_dir:
        d.execute_cdp_cmd("Page.setDownloadBehavior",
                          {"behavior": "allow", "downloadPath": download_dir})
    return d


def tmpdir_cleanup(path):
    shutil.rmtree(path, ignore_errors=True)
