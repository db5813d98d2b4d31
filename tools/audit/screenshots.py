"""Screenshots of the storefront for docs/screenshots/: laptop and phone, with a logged-in shopper.

    python tools/audit/screenshots.py BASE_URL SESSION_KEY PREFIX [--menu]

Saves PREFIX-home.png, PREFIX-products.png, PREFIX-checkout.png (1280 x 900) and the same pages at
390 x 844 (PREFIX-phone-*.png), plus the phone header with its menu opened when `--menu` is given.
"""

import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAGES = {"home": "/", "products": "/products/", "checkout": "/checkout/"}


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    )
    return driver


def settle(driver: webdriver.Chrome) -> None:
    """Wait (up to 10 s) until the pictures in view are loaded and decoded."""
    driver.set_script_timeout(10)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].filter(i => i.loading !== 'lazy' || i.getBoundingClientRect().top < innerHeight)"
        ".map(i => i.decode().catch(() => null))).then(() => done());"
    )


def main(base_url: str, session_key: str, prefix: str, menu: bool) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in {"": (1280, 900), "phone-": (390, 844)}.items():
        driver = browser(width, height)
        try:
            driver.get(base_url + "/")
            driver.add_cookie({"name": "sessionid", "value": session_key, "path": "/"})
            for name, path in PAGES.items():
                driver.get(base_url + path)
                settle(driver)
                driver.save_screenshot(str(OUT / f"{prefix}-{label}{name}.png"))
            if label and menu:
                driver.get(base_url + "/")
                settle(driver)
                driver.find_element(By.CSS_SELECTOR, ".site-menu summary").click()
                driver.save_screenshot(str(OUT / f"{prefix}-phone-menu-open.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], "--menu" in sys.argv)
