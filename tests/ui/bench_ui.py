#!/usr/bin/python3
"""tests/ui/bench_ui.py - the measuring half of scripts/bench-ui.sh (which
makes the database and says what is measured).  Environment: ROOT,
INFRAPIVOT, DB, RUNS, LOG."""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uilib  # noqa: E402

uilib.ensure_browser(os.environ["ROOT"])
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SEED = "bench-seed.example"
TARGET_MS = 1500


def one_run(d, url):
    d.get(url + "/")
    w = WebDriverWait(d, 300, poll_frequency=0.02)
    w.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    e = d.find_element(By.ID, "depth")
    e.clear()
    e.send_keys("2")
    q = d.find_element(By.ID, "q")
    q.send_keys(SEED)
    q.send_keys(Keys.ENTER)
    w.until(lambda d: d.find_element(By.ID, "status").text.startswith("pivot from " + SEED + ":"))
    m = d.execute_script("return [infrapivot.metrics.totalMs, infrapivot.metrics.layoutMs,"
                         " infrapivot.cy.nodes().length]")
    # interactive: a click on the canvas at a node opens its panel
    key = "ip:10.9.0.1"
    pos = d.execute_script("const p = infrapivot.cy.$id(arguments[0]).renderedPosition();"
                           "const c = document.getElementById('cy');"
                           "return [p.x - c.clientWidth / 2, p.y - c.clientHeight / 2];", key)
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(d).move_to_element_with_offset(d.find_element(By.ID, "cy"),
                                                int(pos[0]), int(pos[1])).click().perform()
    w.until(lambda d: "10.9.0.1" in d.find_element(By.ID, "nodeTitle").text)
    return m


BASELINE_JS = """
const done = arguments[arguments.length - 1];
const src = infrapivot.cy.json().elements;
const box = document.createElement('div');
box.style.cssText = 'position:absolute;left:0;top:0;width:' + infrapivot.cy.width() +
  'px;height:' + infrapivot.cy.height() + 'px';
document.body.append(box);
const t0 = performance.now();
const cy = cytoscape({ container: box });
cy.batch(() => cy.add(src.nodes.map((n) => ({ data: { id: n.data.id }, position: n.position }))
  .concat(src.edges.map((e) => ({ data: { id: e.data.id, source: e.data.source, target: e.data.target } })))));
cy.fit();
requestAnimationFrame(() => { const ms = performance.now() - t0; cy.destroy(); box.remove(); done(ms); });
"""


def baseline(d):
    """The same nodes and positions in a bare cytoscape.js (default style),
    added, fitted and drawn: what the library itself costs on this machine
    now, for the same-run ratio."""
    return d.execute_async_script(BASELINE_JS)


def main():
    srv = uilib.Server(os.environ["INFRAPIVOT"], os.environ["DB"], os.environ["LOG"])
    d = uilib.browser()
    try:
        d.set_script_timeout(300)
        totals, layouts, bases = [], [], []
        for i in range(int(os.environ.get("RUNS", "5"))):
            total, layout, n = one_run(d, srv.url)
            print("run %d: %d nodes, total %.0f ms, layout %.0f ms, then a click opened the panel"
                  % (i + 1, n, total, layout))
            if n != 500:
                print("expected 500 nodes")
                return 1
            bases.append(baseline(d))
            print("       bare cytoscape.js, same elements and positions: %.0f ms" % bases[-1])
            totals.append(total)
            layouts.append(layout)
        mt, ml = statistics.median(totals), statistics.median(layouts)
        mb = statistics.median(bases)
        print("median of %d: total %.0f ms, layout %.0f ms (target total <= %d ms: %s)"
              % (len(totals), mt, ml, TARGET_MS, "met" if mt <= TARGET_MS else "NOT met"))
        print("bare cytoscape.js median %.0f ms; ratio layout / bare %.2f" % (mb, ml / mb))
        print("load average:", open("/proc/loadavg").read().split()[:3], "on", os.cpu_count(), "cores")
        return 0
    finally:
        d.quit()
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
