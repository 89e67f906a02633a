"""Seed the demo plant in a scratch folder, serve it, and save its board at 1920×1080 to docs/board.png.

    .venv/bin/python scripts/board_screenshot.py [OUT.png]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "FLOORBOOK_ENV": "development", "FLOORBOOK_INSTANCE": scratch,
               "DATABASE_URL": f"sqlite:///{scratch}/demo.sqlite3", "HOST": "127.0.0.1", "PORT": str(port)}
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        seeded = subprocess.run(flask + ["demo", "--base-url", f"http://127.0.0.1:{port}"], cwd=ROOT, env=env,
                                check=True, capture_output=True, text=True).stdout
        url = re.search(r"(http://\S+/board/\S+)", seeded).group(1)
        server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(url)
                page.locator("body[data-stream=open]").wait_for(state="attached")
                page.screenshot(path=str(out))
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    print(f"saved {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "board.png")
