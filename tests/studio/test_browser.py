"""The page end to end in a real headless Chromium (Debian's, driven by selenium; nothing downloaded).

Open the page, generate 2 variations, play one, keep it, add it to a mix, render and play the mix,
download the MIDI, then play the radio; assert on the files on disk. Each tab is photographed;
``STUDIO_SCREENSHOTS=docs`` copies the pictures to docs/ (how the README's screenshots are made).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.studio.conftest import REPO

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1000")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400),
              pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                 reason="needs Debian's chromium and chromium-driver (make system-deps)")]


@pytest.fixture
def browser(tmp_path):
    os.environ["SE_OFFLINE"] = "true"  # selenium's driver manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(condition, timeout_s: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def playing(driver, selector: str) -> bool:
    return driver.execute_script(f"const a = document.querySelector('{selector}'); return a && a.currentTime > 0;")


def test_generate_play_keep_mix_download_and_radio(studio_server, trained_run, browser, tmp_path):
    from selenium.webdriver.common.by import By

    shots = tmp_path / "shots"
    shots.mkdir()

    def find(css: str):
        return browser.find_element(By.CSS_SELECTOR, css)

    def find_all(css: str):
        return browser.find_elements(By.CSS_SELECTOR, css)

    def tab(name: str) -> None:
        find(f'.tab[data-tab="{name}"]').click()

    def set_value(css: str, value: str) -> None:
        find(css).clear()
        find(css).send_keys(value)

    browser.get(studio_server.url)
    wait_for(lambda: find_all("#runs-table tbody tr"), 30, "the runs table")
    assert "performance-rnn" in find("#runs-table tbody").text and "bach" in find("#runs-table tbody").text
    browser.save_screenshot(str(shots / "studio-runs.png"))

    tab("generate")
    set_value("#gen-seconds", "5000")
    find("#gen-submit").click()  # an absurd value: one clear line in the page, and the server lives on
    wait_for(lambda: find("#error").is_displayed(), 30, "the error message")
    assert find("#error").text.startswith("seconds must be within (0, 3600] for this model")

    set_value("#gen-seconds", "4")
    set_value("#gen-num", "2")
    set_value("#gen-seed", "11")
    set_value("#gen-key", "A minor")
    find("#gen-submit").click()
    wait_for(lambda: len(find_all(".take")) == 2, 180, "two variations")
    assert not find("#error").is_displayed()
    first = find_all(".take")[0]
    first.find_element(By.CSS_SELECTOR, ".play").click()
    wait_for(lambda: playing(browser, ".take audio"), 30, "the first take to play")
    browser.save_screenshot(str(shots / "studio-generate.png"))
    first.find_element(By.CSS_SELECTOR, ".keep").click()
    wait_for(lambda: "Kept as" in first.find_element(By.CSS_SELECTOR, ".keep").text, 30, "the take to be kept")

    tab("keep")
    card = wait_for(lambda: find_all(".kept"), 30, "the kept take")[0]
    name = card.get_attribute("data-name")
    kept = studio_server.session / "kept"
    assert (kept / f"{name}.mid").is_file() and (kept / f"{name}.json").is_file()
    browser.save_screenshot(str(shots / "studio-keep.png"))
    card.find_element(By.CSS_SELECTOR, ".download-midi").click()
    downloaded = tmp_path / "downloads" / f"{name}.mid"
    wait_for(downloaded.is_file, 30, "the MIDI download")
    assert downloaded.read_bytes() == (kept / f"{name}.mid").read_bytes()

    card.find_element(By.CSS_SELECTOR, ".add-to-mix").click()  # opens the Mix tab
    set_value("#mix-name", "browser-mix")
    find("#mix-render").click()
    wait_for(lambda: find("#mix-result").is_displayed(), 120, "the rendered mix")
    browser.execute_script("document.querySelector('#mix-audio').play()")
    wait_for(lambda: playing(browser, "#mix-audio"), 30, "the mix to play")
    folder = studio_server.session / "mixes" / "browser-mix"
    assert (folder / "mix.wav").stat().st_size > 44 and (folder / "mix.yaml").is_file()
    assert f"../../kept/{name}.mid" in (folder / "mix.yaml").read_text()
    browser.save_screenshot(str(shots / "studio-mix.png"))

    tab("radio")
    find("#radio-start").click()
    wait_for(lambda: browser.execute_script("return document.querySelector('#radio-audio').currentTime > 3"), 90,
             "the radio to play 3 s")
    assert not find("#error").is_displayed()
    time.sleep(2.5)  # one status refresh
    browser.save_screenshot(str(shots / "studio-radio.png"))
    find("#radio-stop").click()
    wait_for(lambda: "running: false" in find("#radio-status").text, 30, "the radio to stop")

    for shot in shots.iterdir():
        assert shot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("STUDIO_SCREENSHOTS"):
            shutil.copy(shot, REPO / os.environ["STUDIO_SCREENSHOTS"] / shot.name)


def test_transcribe_a_song_and_download_its_midi(studio_server, browser, tmp_path):
    """The Transcribe tab: upload a rendered chord, see its piano roll, hear its MIDI, download it;
    then a silent song: one line in the page."""
    import numpy as np
    import pretty_midi
    import soundfile as sf
    from selenium.webdriver.common.by import By

    from composer.render.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=90, pitch=p, start=0.5, end=2.0) for p in (60, 64, 67)]
    pm.instruments.append(piano)
    song, quiet = tmp_path / "chord.wav", tmp_path / "quiet.wav"
    sf.write(str(song), render_midi(pm, sample_rate=44100), 44100)
    sf.write(str(quiet), np.zeros(44100), 44100)

    def find(css: str):
        return browser.find_element(By.CSS_SELECTOR, css)

    browser.get(studio_server.url)
    find('.tab[data-tab="transcribe"]').click()
    find("#tr-file").send_keys(str(song))
    find("#tr-submit").click()
    wait_for(lambda: find("#tr-result").is_displayed(), 120, "the transcription")
    assert "chord.wav: " in find("#tr-result .title").text and "(pitches 60-" in find("#tr-result .title").text
    wait_for(lambda: browser.execute_script("const i = document.querySelector('#tr-plot');"
                                            "return i.complete && i.naturalWidth > 0;"), 30, "the piano roll")
    browser.save_screenshot(str(tmp_path / "studio-transcribe.png"))
    find(".download-transcription").click()
    downloaded = tmp_path / "downloads" / "chord.mid"
    wait_for(downloaded.is_file, 30, "the MIDI download")
    held = {n.pitch for n in pretty_midi.PrettyMIDI(str(downloaded)).instruments[0].notes if n.end - n.start > 0.3}
    assert held == {60, 64, 67}
    if os.environ.get("STUDIO_SCREENSHOTS"):
        shutil.copy(tmp_path / "studio-transcribe.png", REPO / os.environ["STUDIO_SCREENSHOTS"])

    find("#tr-file").send_keys(str(quiet))
    find("#tr-submit").click()
    wait_for(lambda: find("#error").is_displayed(), 120, "the error message")
    assert find("#error").text.startswith("quiet.wav: silent (peak -inf dBFS)")
