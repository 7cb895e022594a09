"""The report renders in headless Chromium: no console errors, every figure drawn, a screenshot saved."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fsel.report import build_report, write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPOSITORY = Path(__file__).resolve().parents[1]
HEADINGS = (
    "1. Cohort",
    "2. Feature selection",
    "3. Discrimination",
    "4. Calibration",
    "5. Clinical utility",
    "6. Subgroups",
    "7. Explanations",
    "8. Observation windows",
    "9. Appendix: TRIPOD+AI",
)


@pytest.fixture
def browser(tmp_path):
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"headless Chromium is needed for this test but {', '.join(missing)} is missing; "
            "run `make browser` (apt-get install chromium chromium-driver)."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1800",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_ckd_report_renders_in_chromium(browser, tmp_path):
    report = build_report(
        "ckd",
        target="class",
        positive="ckd",
        groups=["htn", "age"],
        selector="lasso",
        compare=["lasso", "mi"],
        folds=3,
        repeats=1,
        bootstrap=100,
    )
    out = write_report(tmp_path / "ckd-report", report)
    browser.get((out / "report.html").resolve().as_uri())

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);"
    )
    # ROC/PR, calibration, decision, retention, importance, shape functions, two subgroups.
    assert len(images) >= 8
    assert all(complete and width > 0 for _, complete, width in images), images
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(name => !name.startsWith('data:'));"
    )
    assert fetched == []
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);"
    )
    assert list(headings) == list(HEADINGS)
    assert (
        "Clinical-risk report: ckd" in browser.title + browser.find_element("tag name", "h1").text
    )

    screenshot = tmp_path / "report-ckd.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FSEL_SAVE_SCREENSHOT") == "1":
        (REPOSITORY / "docs").mkdir(exist_ok=True)
        shutil.copyfile(screenshot, REPOSITORY / "docs" / "report-ckd.png")
