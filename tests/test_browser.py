"""End to end: the real Streamlit server driven by headless Chromium (Playwright).

Needs Debian's Chromium and the Noto CJK fonts (``make browser`` runs
scripts/install_browser.sh). Without /usr/bin/chromium these tests FAIL with a
message saying so: a browser test that silently skips proves nothing.

Screenshots go to tests/artifacts/ (with the server log and the timings) for CI to
keep; with IPKB_UPDATE_SCREENSHOTS=1 they also replace docs/screenshots/ (committed,
used by the README), so an ordinary test run leaves the working tree clean.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = REPO / "docs" / "screenshots"
ARTIFACTS = REPO / "tests" / "artifacts"
VIEWPORT = {"width": 1440, "height": 1000}
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}; log:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"streamlit did not answer {url}/_stcore/health within {deadline_s} s")


@pytest.fixture(scope="module")
def server(corpus_kb, tmp_path_factory):
    """The app served on a free loopback port, on a private copy of the corpus knowledge base."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make browser` (scripts/install_browser.sh installs "
                    "Debian's chromium and fonts-noto-cjk) before the browser tests")
    home = tmp_path_factory.mktemp("browser") / "kb"
    shutil.copytree(corpus_kb, home, ignore=shutil.ignore_patterns("write.lock"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "streamlit.log"
    port = _free_port()
    env = dict(os.environ, KB_HOME=str(home), IPKB_EMBEDDER="fake", PYTHONUNBUFFERED="1")
    with open(log, "w", encoding="utf-8") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=log_fh, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make browser` first")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def settle(page) -> None:
    """Wait until Streamlit has finished the current run (no "running" indicator)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=TIMEOUT_MS)
    page.wait_for_timeout(400)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("IPKB_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, SCREENSHOTS / name)


def search_box(page):
    return page.locator(".st-key-search_q input")


def keyword_search(page, query: str) -> None:
    """Keyword (BM25) mode: its ranking does not depend on the fake test embedder."""
    page.locator(".st-key-search_mode").get_by_text("关键词").click()
    settle(page)
    search_box(page).fill(query)
    search_box(page).press("Enter")
    page.locator(".kb-hit").first.wait_for()
    settle(page)


def test_search_then_open_a_result_in_the_reader(server, page):
    started = time.perf_counter()
    page.goto(server)
    search_box(page).wait_for(state="visible")
    first_render_s = time.perf_counter() - started
    print(f"\nfirst page (search box visible) after {first_render_s:.2f} s")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps({"first_page_s": round(first_render_s, 3)}), "utf-8")

    keyword_search(page, "侵犯商业秘密")
    assert page.locator(".kb-hit").count() == 10
    assert page.locator(".kb-hit mark", has_text="商业秘密").count() >= 1
    assert page.locator("p", has_text="条结果").count() == 1
    titles = page.locator(".kb-hit-title a").all_inner_texts()
    assert titles[0] == "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"
    shot(page, "search.png")

    page.locator(".st-key-open_0 button").click()
    page.locator(".st-key-reader_id input").wait_for()
    page.locator("h3", has_text=titles[0]).wait_for()
    settle(page)
    assert "page=reader" in page.url and "id=" in page.url
    assert page.locator(".st-key-reader_id input").input_value()


def test_reader_guiding_case_and_cited_article(server, page):
    page.goto(f"{server}/?page=reader&id=%E6%8C%87%E5%AF%BC%E6%A1%88%E4%BE%8B87%E5%8F%B7")  # 指导案例87号
    page.locator(".kb-gist").wait_for()
    settle(page)
    assert "假冒注册商标犯罪的非法经营数额" in page.locator(".kb-gist").inner_text()
    page.locator(".st-key-cite_0 button").click()
    page.get_by_text("其他引用刑法第213条的文书").wait_for()
    settle(page)
    shot(page, "reader.png")


def test_similar_cases_from_pasted_text(server, page):
    facts = next(json.loads(line)["text"] for line in
                 (REPO / "corpus/judgments/cail2018_ip_criminal_facts.jsonl").read_text("utf-8").splitlines()
                 if "假冒注册商标" in json.loads(line)["title"])
    page.goto(f"{server}/?page=similar")
    area = page.locator(".st-key-similar_text textarea")
    area.fill(facts)
    area.press("Control+Enter")
    settle(page)
    page.locator(".st-key-similar_run button").click()
    page.locator(".kb-bars").first.wait_for()
    settle(page)
    assert page.locator(".kb-bars").count() == 10
    assert page.locator(".kb-pair mark").count() > 0
    shot(page, "similar.png")


def test_add_to_pack_and_export_markdown(server, page):
    page.goto(server)
    keyword_search(page, "侵犯商业秘密")
    for n in (0, 3):
        page.locator(f".st-key-add_{n}").get_by_role("button", name="加入课程包").click()
        page.get_by_text("已加入课程包").first.wait_for()
        settle(page)
    page.goto(f"{server}/?page=reader&id=%E6%8C%87%E5%AF%BC%E6%A1%88%E4%BE%8B87%E5%8F%B7")  # 指导案例87号
    page.locator(".st-key-pack_add_gist button").click()
    page.get_by_text("已加入课程包").first.wait_for()
    page.goto(f"{server}/?page=pack")  # a reload: the pack is read back from the KB home
    page.locator(".st-key-dl_md button").wait_for()
    settle(page)
    note = page.locator("[class*='st-key-note_'] textarea").first
    note.fill("讨论：何为“合理”的保密措施？")
    note.press("Control+Enter")
    settle(page)
    with page.expect_download() as info:
        page.locator(".st-key-dl_md button").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    assert download.suggested_filename.endswith(".md")
    assert "## 1. 最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定" in text
    assert "## 3. 郭明升、郭明锋、孙淑标假冒注册商标案 裁判要点" in text
    assert "**批注：** 讨论：何为“合理”的保密措施？" in text
    assert "## 资料来源" in text
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "pack.png")


@pytest.mark.parametrize("page_key, name, ready", [
    ("guide", "guidelines.png", ".kb-list"),
    ("import", "import.png", ".st-key-upload_files"),
    ("status", "status.png", "[data-testid='stMetric']"),
])
def test_other_pages_render(server, page, page_key, name, ready):
    page.goto(f"{server}/?page={page_key}")
    page.locator(ready).first.wait_for()
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    shot(page, name)


CJK_PROBE = """
() => {
  const el = document.querySelector('.kb-list a, .kb-hit-title a, h3, label');
  const family = getComputedStyle(el).fontFamily;
  const draw = (ch) => {
    const canvas = document.createElement('canvas');
    canvas.width = 40; canvas.height = 40;
    const ctx = canvas.getContext('2d');
    ctx.font = `28px ${family}`;
    ctx.fillStyle = '#000';
    ctx.fillText(ch, 4, 30);
    return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(',');
  };
  const han = ['知', '识', '产', '权'].map(draw);
  const notdef = draw(String.fromCodePoint(0x10FFFD));
  return {family, distinct: new Set(han).size, tofu: han.filter(h => h === notdef).length,
          blank: han.filter(h => !/[1-9]/.test(h)).length};
}
"""


def test_chinese_glyphs_render_without_tofu(server, page):
    """Without a CJK font every Han character draws the same .notdef box (or nothing): four
    different characters must give four different bitmaps, none equal to the box a
    certainly-missing code point (U+10FFFD) draws, none blank."""
    page.goto(f"{server}/?page=guide")
    page.locator(".kb-list a").first.wait_for()
    result = page.evaluate(CJK_PROBE)
    print(f"\nCJK probe: {result}")
    assert result["distinct"] == 4 and result["tofu"] == 0 and result["blank"] == 0, (
        f"Chinese text renders as tofu ({result}); install fonts-noto-cjk (`make browser`)")
