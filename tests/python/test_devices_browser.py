"""The "your devices" page in a real browser (Debian's headless Chromium driven by selenium):
log in, see two devices, revoke one; its refresh token is then refused, the other's works."""

import shutil

import pytest

import authstore
from conftest import SECRET
from test_authlib_e2e import Server, authorize, exchange, provider, refresh

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path):
    if not CHROMEDRIVER or not shutil.which("chromium"):
        pytest.fail("chromium and chromium-driver are needed (scripts/deps.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--user-data-dir={tmp_path}/profile"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_devices_page_in_a_browser(browser, tmp_path):
    store = authstore.open(f"sqlite://{tmp_path}/devices.db", secret=SECRET)
    server = Server(provider.create_app(store))
    try:
        base = server.base
        tokens = {}
        for client in ("client-a", "client-b"):
            code, verifier = authorize(base, client_id=client, user="fay")
            tokens[client] = exchange(base, code, verifier, client_id=client).json()
        browser.get(f"{base}/login?next=/devices")
        browser.find_element(By.ID, "username").send_keys("fay")
        browser.find_element(By.ID, "login").click()
        # click() returns before the next page is loaded: wait (bounded) for it, then check it.
        WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/devices")
                                          and b.find_elements(By.CSS_SELECTOR, "li.device"))
        devices = browser.find_elements(By.CSS_SELECTOR, "li.device")
        assert sorted(d.text.split()[0] for d in devices) == ["client-a", "client-b"]
        device_a = next(d for d in devices if d.text.startswith("client-a"))
        device_a.find_element(By.CSS_SELECTOR, "button.revoke").click()
        WebDriverWait(browser, 20).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "li.device")) == 1)
        remaining = browser.find_elements(By.CSS_SELECTOR, "li.device")
        assert [d.text.split()[0] for d in remaining] == ["client-b"]
        assert refresh(base, tokens["client-a"]["refresh_token"]).status_code == 400
        assert refresh(base, tokens["client-b"]["refresh_token"],
                       client_id="client-b").status_code == 200
    finally:
        server.stop()
        store.close()
