"""The dashboard and GraphiQL in a real browser (headless Chromium through selenium)
against the world's server, with every host but the server's unreachable: pages draw
their figures (screenshots under pytest's tmp_path, checked not blank), load nothing
from elsewhere and log no errors; the jobs page follows a running job; an outsider and
an anonymous visitor see no private dataset.

Needs Debian's ``chromium`` and ``chromium-driver`` (the test fails without them)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker
from tests.world import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 60


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: install Debian's chromium and "
            "chromium-driver (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",  # the tallest figure fits: element shots are not cut
        # the network cut off: no host resolves but the server's
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(browser: Any, condition: Any, timeout: float = WAIT_S) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def css(browser: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.find_elements(By.CSS_SELECTOR, selector))


def login(browser: Any, world: World, who: str | None) -> None:
    """Sign in with ``who``'s token through the form (None: sign out)."""
    browser.get(world.url + "/dashboard/login")
    browser.delete_all_cookies()
    if who is None:
        return
    browser.get(world.url + "/dashboard/login")
    css(browser, "input[name=token]")[0].send_keys(world.tokens[who])
    css(browser, "form.login button")[0].click()
    wait(browser, lambda b: b.current_url.endswith("/dashboard/datasets"))
    cookie = browser.get_cookie("connectomedb_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert world.users[who] in css(browser, "nav .user")[0].text


def loads_only_from(browser: Any, origin: str) -> None:
    """Everything the page loaded or links as a script, style sheet or image is on
    ``origin``, and the console has no error."""
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat(Array.from(document.querySelectorAll('script[src], img[src]'), e => e.src))"
        ".concat(Array.from(document.querySelectorAll('link[href]'), e => e.href))"
    )
    elsewhere = [u for u in loaded if not (u.startswith(origin + "/") or u.startswith("data:"))]
    assert not elsewhere, elsewhere
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def assert_not_blank(png: Path, colours: int = 20, ink: float = 0.02) -> None:
    """A screenshot with at least ``colours`` distinct colours and ``ink`` of its
    pixels not white."""
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        counts = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
        total = rgb.width * rgb.height
    not_white = sum(n for n, c in counts if c != (255, 255, 255)) / total
    assert len(counts) >= colours, f"{png}: {len(counts)} colours"
    assert not_white >= ink, f"{png}: {not_white:.1%} not white"


def draw(browser: Any, world: World, path: str, name: str, out: Path) -> int:
    """Load a page, wait for each of its figures to be drawn, screenshot the page and
    each figure (``out/name*.png``) and check them; returns the number of figures."""
    browser.get(world.url + path)
    figures = css(browser, "[data-figure]")
    wait(
        browser,
        lambda b: all(
            css(b, f"#{f.get_attribute('id')}.js-plotly-plot .main-svg") for f in figures
        ),
    )
    for i, f in enumerate(figures):
        shot = out / f"{name}-{i}-{f.get_attribute('id')}.png"
        f.screenshot(str(shot))
        assert_not_blank(shot)
    page = out / f"{name}.png"
    browser.save_screenshot(str(page))
    assert_not_blank(page, colours=10, ink=0.01)
    loads_only_from(browser, world.url)
    return len(figures)


def test_every_page_draws_its_figures(
    browser: Any, world: World, runs: dict[str, str], tmp_path: Path
) -> None:
    login(browser, world, "alice")
    ds = world.cook
    assert draw(browser, world, "/dashboard/datasets", "datasets", tmp_path) == 0
    assert css(browser, f"#datasets a[href='/dashboard/datasets/{ds}']")
    expected = {
        "dataset": (f"/dashboard/datasets/{ds}", 3),  # degrees, heatmap, reciprocity
        "dataset-type": (f"/dashboard/datasets/{ds}?level=type&metric=probability", 3),
        "neuron": (f"/dashboard/datasets/{ds}/neurons/AVAL", 1),
        "census": (f"/dashboard/datasets/{ds}/census?samples=5", 1),
        "run-embedding": (f"/dashboard/runs/{runs['embedding']}", 1),
        "run-simulate": (f"/dashboard/runs/{runs['simulate']}", 2),  # rate, raster
        "run-celltype": (f"/dashboard/runs/{runs['celltype_gnn']}", 1),  # confusion
    }
    for name, (path, n) in expected.items():
        assert draw(browser, world, path, name, tmp_path) == n, name
        if name == "neuron":  # AVAL's partners, strongest first
            counts = [int(td.text) for td in css(browser, "#upstream tbody td:nth-child(4)")]
            assert len(counts) == 25 and counts == sorted(counts, reverse=True)
        elif name == "census":  # the 16 triad classes
            assert len(css(browser, "#census tbody tr")) == 16
        elif name == "run-simulate":  # the run's own PNG files beside its figures
            images = css(browser, "figure.png img")
            assert len(images) == 2
            assert all(
                browser.execute_script("return arguments[0].naturalWidth", i) for i in images
            )


def test_the_jobs_page_follows_a_running_job(
    browser: Any, world: World, driver: neo4j.Driver, settings: Settings, tmp_path: Path
) -> None:
    login(browser, world, "carol")
    queue = f"q_{uuid.uuid4().hex[:8]}"
    q = JobQueue(driver, settings.neo4j_database)
    params = {"seconds": 6.0, "steps": 12}
    job = q.submit(JobRequest(world.cook, "probe", params, world.users["carol"], 1, queue))
    browser.get(f"{world.url}/dashboard/jobs?mine=1")
    row = f"tr[data-job='{job['id']}']"
    assert css(browser, f"{row} .status")[0].text == "queued"
    worker = Worker(driver, settings.neo4j_database, "dash", 120, 0.1, queue, settings.artifacts)
    t = threading.Thread(target=worker.run_once)
    t.start()
    try:
        seen: set[float] = set()

        def running(b: Any) -> bool:
            bar = css(b, f"{row} progress")[0]
            value = float(bar.get_attribute("value"))
            if css(b, f"{row} .status")[0].text == "running":
                seen.add(value)
            return len([v for v in seen if 0 < v < 1]) >= 2  # the bar moved twice

        wait(browser, running)
        browser.save_screenshot(str(tmp_path / "jobs-running.png"))
        wait(browser, lambda b: css(b, f"{row} .status")[0].text == "succeeded")
    finally:
        t.join(timeout=60)
    assert float(css(browser, f"{row} progress")[0].get_attribute("value")) == 1.0
    link = css(browser, f"{row} .run a")
    assert link and link[0].get_attribute("href").startswith(world.url + "/dashboard/runs/")
    browser.save_screenshot(str(tmp_path / "jobs-done.png"))
    assert_not_blank(tmp_path / "jobs-done.png", colours=10, ink=0.01)
    loads_only_from(browser, world.url)


def test_graphiql_works_with_the_network_cut_off(
    browser: Any, world: World, tmp_path: Path
) -> None:
    browser.get(world.url + "/graphql")
    wait(browser, lambda b: css(b, ".graphiql-container .graphiql-query-editor .CodeMirror"))
    shot = tmp_path / "graphiql.png"
    browser.save_screenshot(str(shot))
    assert_not_blank(shot, colours=20, ink=0.05)
    for el in css(browser, "script[src], link[href]"):
        address = el.get_attribute("src") or el.get_attribute("href")
        assert address.startswith(world.url + "/") or address.startswith("data:"), address
    loads_only_from(browser, world.url)


@pytest.mark.parametrize("who", ["bob", None])
def test_outsiders_see_no_private_dataset(
    browser: Any, world: World, runs: dict[str, str], who: str | None, tmp_path: Path
) -> None:
    login(browser, world, who)
    browser.get(world.url + "/dashboard/datasets")
    assert world.cook not in browser.page_source
    if who is None:
        assert "not signed in" in css(browser, "nav .who")[0].text
    missing = f"t_missing_{uuid.uuid4().hex[:8]}"

    def not_found(path: str) -> str:
        browser.get(world.url + path)
        assert css(browser, "main h1")[0].text == "Not found", path
        return str(css(browser, "main")[0].text)

    ds = world.cook
    for path in (
        f"/dashboard/datasets/{ds}",
        f"/dashboard/datasets/{ds}/neurons/AVAL",
        f"/dashboard/datasets/{ds}/census",
        f"/dashboard/jobs?dataset={ds}",
    ):
        seen = not_found(path).replace(ds, "X")
        assert seen == not_found(path.replace(ds, missing)).replace(missing, "X")
    for run in runs.values():
        assert not_found(f"/dashboard/runs/{run}").replace(run, "X") == not_found(
            "/dashboard/runs/run_0000000000000000"
        ).replace("run_0000000000000000", "X")
    browser.get(world.url + "/dashboard/jobs")
    assert world.cook not in browser.page_source
    browser.save_screenshot(str(tmp_path / f"outsider-{who}.png"))
