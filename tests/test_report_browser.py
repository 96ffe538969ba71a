"""The HTML report in a real browser: headless Chromium (the Debian package) driven by
Playwright. Skipped only where Playwright cannot be imported or Chromium cannot be launched.

One browser for the whole session; each test opens a page on a report written once."""
from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import ARCH

from cnncalc.cli import main
from cnncalc.graph import load_graph
from cnncalc.report.explain import explanation
from cnncalc.report.rows import rows

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Any:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as play:
        try:
            launched = play.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure means no browser here
            pytest.skip(f"chromium cannot be launched: {exc}")
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """resnet18 with --verify --training, resnet50 folded at depth 2, unet plain."""
    out = tmp_path_factory.mktemp("reports")
    runs = {"resnet18": ["resnet18", "--verify", "--training"],
            "resnet50-d2": ["resnet50", "--depth", "2"], "unet": ["unet"]}
    for key, (net, *extra) in runs.items():
        assert main(["report", str(ARCH / f"{net}.yaml"), "-o", str(out / f"{key}.html"), *extra]) == 0
    return {key: out / f"{key}.html" for key in runs}


class Opened:
    def __init__(self, page: Any, errors: list[str], requests: list[str]):
        self.page, self.errors, self.requests = page, errors, requests


def open_report(browser: Any, path: Path) -> Opened:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))

    def refuse(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "about:")) or url == path.as_uri():
            route.continue_()
        else:
            errors.append(f"network request: {url}")
            route.abort()
    page.route("**/*", refuse)
    page.goto(path.as_uri())
    return Opened(page, errors, requests)


@pytest.fixture
def opened(browser: Any, reports: dict[str, Path]) -> Any:
    pages: list[Any] = []

    def open_one(key: str) -> Opened:
        result = open_report(browser, reports[key])
        pages.append(result.page)
        return result
    yield open_one
    for page in pages:
        page.close()


@pytest.mark.parametrize("key", ["resnet18", "resnet50-d2", "unet"])
def test_loads_without_errors_or_requests(opened, reports, key) -> None:
    report = opened(key)
    report.page.wait_for_load_state("load")
    assert report.errors == []
    assert report.requests == [reports[key].as_uri()]  # the page itself, nothing else


def test_the_policy_forbids_requests(opened) -> None:
    report = opened("resnet18")
    blocked = report.page.evaluate("""() => new Promise(done => {
        document.addEventListener('securitypolicyviolation', e => done(e.violatedDirective));
        const img = document.createElement('img'); img.src = 'https://example.com/x.png';
        document.body.appendChild(img); })""")
    assert blocked.startswith("img-src")


@pytest.mark.parametrize("key, net, depth", [("resnet18", "resnet18", None),
                                             ("resnet50-d2", "resnet50", 2), ("unet", "unet", None)])
def test_graph_has_a_node_per_layer_or_block(opened, key, net, depth) -> None:
    g = load_graph(ARCH / f"{net}.yaml")
    page = opened(key).page
    names = page.eval_on_selector_all("#graph-box .node:not(.input)",
                                      "nodes => nodes.map(n => n.dataset.name)")
    assert names == [row.name for row in rows(g, depth)]
    edges = page.locator("#graph-box .edge").count()
    assert edges == int(page.get_attribute("#graph-svg", "data-edges"))


def test_clicking_a_node_shows_its_explanation(opened) -> None:
    g = load_graph(ARCH / "resnet18.yaml")
    page = opened("resnet18").page
    page.click('#graph-box [data-node="n0"]')  # conv1, in the first view: a real click
    shown = page.inner_text("#explain pre")
    assert shown == "\n".join(explanation(g, "conv1"))
    assert "MACs = " in shown and "118,013,952" in shown
    # A node far down: the table row scrolls the graph to it, then the node is clicked.
    page.click('#layers tr[data-node="n60"]')
    page.click('#graph-box [data-node="n59"]')
    assert page.inner_text("#explain pre") == "\n".join(explanation(g, g.layers[59].name))
    assert page.locator("#graph-box .node.selected").count() == 1


def test_folded_block_explains_its_layers(opened) -> None:
    g = load_graph(ARCH / "resnet50.yaml")
    page = opened("resnet50-d2").page
    block = rows(g, 2)[5]
    node = page.locator(f'#graph-box .node[data-name="{block.name}"]')
    node.dispatch_event("click")
    shown = page.inner_text("#explain pre")
    assert shown.startswith(f"{block.name} ×{len(block.layers)}")
    assert all(f"{layer.name}: {layer.op_name}" in shown for layer in block.layers)


def test_every_chart_has_one_mark_per_layer(opened) -> None:
    n = len(load_graph(ARCH / "resnet18.yaml").layers)
    page = opened("resnet18").page
    series = page.eval_on_selector_all(
        "svg.chart [data-series]",
        "gs => gs.map(g => [g.closest('svg').dataset.chart, g.dataset.series, "
        "g.querySelectorAll('.mark').length])")
    charts = {chart for chart, _, _ in series}
    assert charts == {"params", "macs", "rf", "memory", "training"}
    for chart, key, marks in series:
        assert marks == (2 * n if chart == "training" else n), (chart, key)
    assert page.locator("svg.chart[data-chart=rf] .ref").count() == 1  # the input size line
    assert page.locator("svg.chart[data-chart=memory] .peak").count() == 1


def test_pan_zoom_and_sorting(opened) -> None:
    page = opened("resnet18").page
    before = page.get_attribute("#graph-svg", "viewBox")
    box = page.locator("#graph-box").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 300)
    page.mouse.wheel(0, 400)
    zoomed = page.get_attribute("#graph-svg", "viewBox")
    assert float(zoomed.split()[2]) > float(before.split()[2])  # zoomed out: wider view
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 200, steps=4)
    page.mouse.up()
    panned = page.get_attribute("#graph-svg", "viewBox")
    assert panned.split()[2:] == zoomed.split()[2:] and panned.split()[:2] != zoomed.split()[:2]
    page.click("#layers th:has-text('params')")
    page.click("#layers th:has-text('params')")  # the second click sorts descending
    shown = page.eval_on_selector_all("#layers tbody tr", "rs => rs.map(r => r.cells[3].dataset.v)")
    params = [layer.params for layer in load_graph(ARCH / "resnet18.yaml").layers]
    assert [int(v) for v in shown] == sorted(params, reverse=True)
    assert page.inner_text("#layers tbody tr:first-child td:first-child") == "layer4.first.conv2"


def test_screenshot_is_not_blank(browser, opened) -> None:
    page = opened("resnet18").page
    png = page.screenshot()
    blank = browser.new_page()  # about:blank: no policy in the way of decoding the PNG
    variance = blank.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let s = 0, s2 = 0, n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) { const v = (d[i] + d[i+1] + d[i+2]) / 3; s += v; s2 += v * v; }
        return s2 / n - (s / n) ** 2; }""", "data:image/png;base64," + base64.b64encode(png).decode())
    blank.close()
    assert variance > 500  # a blank or single-colour page is ~0
