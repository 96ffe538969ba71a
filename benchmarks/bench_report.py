"""Time `cnncalc report` pages in headless Chromium (a report, not a test).

    python benchmarks/bench_report.py [--layers 300] [--runs 5]

For resnet18, resnet50, efficientnet_b0 and a generated residual chain of about --layers
layers: the page's size, the Python time to write it, and in Chromium the time from
navigation to the first frame after `load` (parse, style, layout, the script, paint), best of
--runs. Needs Playwright and /usr/bin/chromium (as the browser tests do).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.graph import load_graph, load_graph_text  # noqa: E402
from cnncalc.report.html import collect, render_html  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def residual_chain(layers: int) -> str:
    units = max(1, (layers - 4) // 4)
    return f"""cnncalc: 1
name: chain{layers}
input: [3, 64, 64]
blocks:
  unit:
    layers:
      - conv: {{filters: 16, kernel: 3, padding: 1, bias: false}}
      - bn
      - relu: {{name: act}}
      - add: {{in: [act, $in]}}
layers:
  - conv: {{filters: 16, kernel: 3, padding: 1}}
  - unit: {{repeat: {units}}}
  - gap
  - flatten
  - dense: {{units: 10}}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    graphs = [load_graph(ROOT / "architectures" / f"{n}.yaml")
              for n in ("resnet18", "resnet50", "efficientnet_b0")]
    graphs.append(load_graph_text(residual_chain(options.layers), "chain.yaml"))
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for graph in graphs:
            start = time.process_time()
            html = render_html(collect(graph, training=True))
            written = time.process_time() - start
            path = Path(tmp) / f"{graph.name}.html"
            path.write_text(html)
            best = float("inf")
            for _ in range(options.runs):
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                              "requestAnimationFrame(r)))")
                best = min(best, time.perf_counter() - start)
            print(f"{graph.name:16} {len(graph.layers):4} layers  {len(html.encode()) / 2**20:5.2f} MiB"
                  f"  written in {written:.2f} s  shown in {best:.2f} s")
        browser.close()


if __name__ == "__main__":
    main()
