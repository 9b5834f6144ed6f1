"""The page of `ogan-tf serve` in a real browser: headless Chromium (Debian's
chromium and chromium-driver, `make browser`) driven by selenium. Upload a
shapes image and see its reconstruction, move a slider and see the edit
change, upload a text file and see the error. Skips without the browser.

The page serves the suite's tiny run, or the run OGAN_SERVE_RUN names (a
run or export folder; OGAN_SERVE_WEIGHTS as --weights); OGAN_SCREENSHOT=path saves the page's screenshot
there: `make screenshot RUN=shapes WEIGHTS=raw` made docs/images/page.png so."""

import os
import shutil
import time

import imageio.v3 as iio
import pytest

from ogan_tf import api
from ogan_tf.apps.serve import Explorer, server
from ogan_tf.data.shapes import make_shapes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# Nothing reaches out: no updates, no sync, no field trials, no QUIC.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1000,1500")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
                       reason=f"needs {CHROMIUM} and {CHROMEDRIVER}: `make browser` installs "
                              "Debian's chromium and chromium-driver"),
]


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium's manager never downloads a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, read below
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def test_upload_reconstruct_slide_interpolate_and_a_bad_file(request, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    if os.environ.get("OGAN_SERVE_RUN"):
        model = api.load(os.environ["OGAN_SERVE_RUN"], log=lambda m: None,
                         weights=os.environ.get("OGAN_SERVE_WEIGHTS", "auto"))
    else:
        runs, name = request.getfixturevalue("tiny_run")
        model = api.load(name, runs, log=lambda m: None)
    shape, other = tmp_path / "shape.png", tmp_path / "other.png"
    pictures = make_shapes(2, 96, 7)[0]  # any size: cropped and resized
    iio.imwrite(shape, pictures[0])
    iio.imwrite(other, pictures[1])
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    srv, url = server.start(Explorer(model, samples=200, log=lambda m: None))
    wait = WebDriverWait(browser, 60)
    try:
        browser.get(url)
        wait.until(lambda d: f"run {model.info['run']}" in d.find_element(By.ID, "about").text)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#samples img"))

        browser.find_element(By.ID, "file").send_keys(str(shape))
        recon = wait.until(lambda d: _png(d, "reconstruction"))
        edited = wait.until(lambda d: _png(d, "edited"))
        assert edited == recon  # every slider at 0: the reconstruction

        slider = browser.find_element(By.CSS_SELECTOR, "input.amount")  # pc1
        slider.send_keys(*[Keys.ARROW_RIGHT] * 20)  # to 2.0, an input event each
        wait.until(lambda d: _png(d, "edited") not in (None, recon))
        _settle(browser)
        browser.find_element(By.ID, "file-b").send_keys(str(other))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#strip img")) == 8)
        if os.environ.get("OGAN_SCREENSHOT"):
            browser.save_screenshot(str(tmp_path / "page.png"))
            shutil.copy(tmp_path / "page.png", os.environ["OGAN_SCREENSHOT"])
        assert not browser.find_element(By.ID, "error").is_displayed()

        browser.find_element(By.ID, "file").send_keys(str(text))
        error = wait.until(lambda d: d.find_element(By.ID, "error").is_displayed()
                           and d.find_element(By.ID, "error").text)
        assert "notes.txt" in error and "not a PNG, JPEG, WebP or BMP image" in error
        assert _png(browser, "reconstruction") == recon  # the last good image stays
        blocked = [e["message"] for e in browser.get_log("browser")
                   if "Content Security Policy" in e["message"]]
        assert not blocked, blocked  # the page's headers let all it needs through
    finally:
        srv.shutdown()
        srv.server_close()


def _png(driver, element_id):
    from selenium.webdriver.common.by import By

    src = driver.find_element(By.ID, element_id).get_attribute("src") or ""
    return src if src.startswith("data:image/png;base64,") else None


def _settle(driver, seconds=10):
    """Until the page sends no more edits (the slider's last value decoded)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and driver.execute_script(
            "return state.editing || state.editAgain"):
        time.sleep(0.1)
