"""Photograph the studio's tabs for docs/ from a real trained run, as a user would see them.

Usage: python tools/studio_screenshots.py RUN SONG [--work DIR] [--docs docs]

RUN is a run dir of a shipped preset (e.g. a `default` trained by benchmarks/presets.py); SONG a
recording for the Transcribe tab. The run is copied to WORK/runs, and `composer studio --root studio
--runs runs` is started in WORK as a user starts it, so the page shows a plain session path. Then a
headless Chromium (Debian's, driven by selenium; nothing downloaded) generates two variations, plays
and keeps one, mixes it, plays the radio and transcribes SONG, saving one picture per tab in DOCS.
The studio's browser test (tests/studio/test_browser.py) drives the page with the same helpers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1000")
TABS = ("runs", "generate", "keep", "mix", "radio", "transcribe")


def open_chromium(profile: Path, downloads: Path) -> Any:
    """A headless Chromium under selenium that saves downloads to ``downloads`` without asking."""
    os.environ["SE_OFFLINE"] = "true"  # selenium's driver manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    return driver


def wait_for(condition: Callable[[], Any], timeout_s: float = 120, what: str = "condition") -> Any:
    """The first truthy value of ``condition()``, polled; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def playing(driver: Any, selector: str) -> bool:
    return driver.execute_script(f"const a = document.querySelector('{selector}'); return a && a.currentTime > 0;")


class Page:
    """The studio page in ``driver``: find elements, switch tabs, fill fields, photograph."""

    def __init__(self, driver: Any, shots: Path) -> None:
        self.driver, self.shots = driver, shots

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def tab(self, name: str) -> None:
        self.find(f'.tab[data-tab="{name}"]').click()

    def set_value(self, css: str, value: str) -> None:
        self.find(css).clear()
        self.find(css).send_keys(value)

    def shoot(self, tab: str) -> Path:
        path = self.shots / f"studio-{tab}.png"
        self.driver.save_screenshot(str(path))
        return path


def generate_and_keep(page: Page, *, seconds: str, num: str, seed: str, key: str | None = None) -> Any:
    """Generate ``num`` variations (in ``key`` for a conditioned run), play the first and keep it;
    the kept card on the Keep tab."""
    page.tab("generate")
    page.set_value("#gen-seconds", seconds)
    page.set_value("#gen-num", num)
    page.set_value("#gen-seed", seed)
    if key:
        page.set_value("#gen-key", key)
    page.find("#gen-submit").click()
    wait_for(lambda: len(page.find_all(".take")) == int(num), 600, f"{num} variations")
    first = page.find_all(".take")[0]
    first.find_element("css selector", ".play").click()
    wait_for(lambda: playing(page.driver, ".take audio"), 30, "the first take to play")
    page.shoot("generate")
    first.find_element("css selector", ".keep").click()
    wait_for(lambda: "Kept as" in first.find_element("css selector", ".keep").text, 30, "the take to be kept")
    page.tab("keep")
    return wait_for(lambda: page.find_all(".kept"), 30, "the kept take")[0]


def mix_and_play(page: Page, card: Any, name: str) -> None:
    """Add the kept ``card`` to a mix named ``name``, render it and play it."""
    card.find_element("css selector", ".add-to-mix").click()  # opens the Mix tab
    page.set_value("#mix-name", name)
    page.find("#mix-render").click()
    wait_for(lambda: page.find("#mix-result").is_displayed(), 300, "the rendered mix")
    page.driver.execute_script("document.querySelector('#mix-audio').play()")
    wait_for(lambda: playing(page.driver, "#mix-audio"), 30, "the mix to play")


def play_radio(page: Page, seconds: float = 3) -> None:
    page.tab("radio")
    page.find("#radio-start").click()
    script = f"return document.querySelector('#radio-audio').currentTime > {seconds}"
    wait_for(lambda: page.driver.execute_script(script), 180, f"the radio to play {seconds} s")
    time.sleep(2.5)  # one status refresh


def transcribe(page: Page, song: Path) -> None:
    page.tab("transcribe")
    page.find("#tr-file").send_keys(str(song))
    page.find("#tr-submit").click()
    wait_for(lambda: page.find("#tr-result").is_displayed(), 600, "the transcription")
    wait_for(lambda: page.driver.execute_script("const i = document.querySelector('#tr-plot');"
                                                "return i.complete && i.naturalWidth > 0;"), 30, "the piano roll")


def tour(page: Page, url: str, song: Path) -> list[Path]:
    """Every tab in use, photographed: runs, generate, keep, mix, radio, transcribe."""
    page.driver.get(url)
    wait_for(lambda: page.find_all("#runs-table tbody tr"), 60, "the runs table")
    shots = [page.shoot("runs")]
    card = generate_and_keep(page, seconds="20", num="2", seed="7")
    shots += [page.shots / "studio-generate.png", page.shoot("keep")]
    mix_and_play(page, card, "first-mix")
    shots.append(page.shoot("mix"))
    play_radio(page)
    shots.append(page.shoot("radio"))
    page.find("#radio-stop").click()
    transcribe(page, song)
    shots.append(page.shoot("transcribe"))
    return shots


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a trained run dir")
    parser.add_argument("song", type=Path, help="a recording for the Transcribe tab")
    parser.add_argument("--work", type=Path, default=Path("/tmp/studio-screenshots"), help="the studio's folder")
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = parser.parse_args(argv)
    for path in (args.run / "config.yaml", args.song):
        if not path.is_file():
            print(f"studio_screenshots.py: {path}: no such file", file=sys.stderr)
            return 1
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.run, args.work / "runs" / args.run.name)
    port = free_port()
    composer = Path(sys.executable).parent / "composer"
    server = subprocess.Popen([str(composer), "studio", "--root", "studio", "--runs", "runs", "--port", str(port)],
                              cwd=args.work)
    driver = open_chromium(args.work / "profile", args.work / "downloads")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url), 120, "the studio to start")
        shots = tour(Page(driver, args.work), url, args.song.resolve())
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)
    for shot in shots:
        shutil.copy(shot, args.docs / shot.name)
        print(args.docs / shot.name)
    return 0


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/api/info", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
