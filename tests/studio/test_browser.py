"""The page end to end in a real headless Chromium (Debian's, driven by selenium; nothing downloaded).

Open the page, generate 2 variations, play one, keep it, add it to a mix, render and play the mix,
download the MIDI, then play the radio; assert on the files on disk. The page is driven by the
helpers of tools/studio_screenshots.py, which photographs the same tour for docs/.
"""

from __future__ import annotations

import pytest

from tools import studio_screenshots as studio
from tools.studio_screenshots import Page, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400),
              pytest.mark.skipif(not (studio.CHROMIUM.exists() and studio.CHROMEDRIVER.exists()),
                                 reason="needs Debian's chromium and chromium-driver (make system-deps)")]


@pytest.fixture
def page(tmp_path):
    driver = studio.open_chromium(tmp_path / "profile", tmp_path / "downloads")
    yield Page(driver, tmp_path)
    driver.quit()


def test_generate_play_keep_mix_download_and_radio(studio_server, trained_run, page, tmp_path):
    page.driver.get(studio_server.url)
    wait_for(lambda: page.find_all("#runs-table tbody tr"), 30, "the runs table")
    assert "performance-rnn" in page.find("#runs-table tbody").text and "bach" in page.find("#runs-table tbody").text

    page.tab("generate")
    page.set_value("#gen-seconds", "5000")
    page.find("#gen-submit").click()  # an absurd value: one clear line in the page, and the server lives on
    wait_for(lambda: page.find("#error").is_displayed(), 30, "the error message")
    assert page.find("#error").text.startswith("seconds must be within (0, 3600] for this model")

    card = studio.generate_and_keep(page, seconds="4", num="2", seed="11", key="A minor")
    assert not page.find("#error").is_displayed()
    name = card.get_attribute("data-name")
    kept = studio_server.session / "kept"
    assert (kept / f"{name}.mid").is_file() and (kept / f"{name}.json").is_file()
    card.find_element("css selector", ".download-midi").click()
    downloaded = tmp_path / "downloads" / f"{name}.mid"
    wait_for(downloaded.is_file, 30, "the MIDI download")
    assert downloaded.read_bytes() == (kept / f"{name}.mid").read_bytes()

    studio.mix_and_play(page, card, "browser-mix")
    folder = studio_server.session / "mixes" / "browser-mix"
    assert (folder / "mix.wav").stat().st_size > 44 and (folder / "mix.yaml").is_file()
    assert f"../../kept/{name}.mid" in (folder / "mix.yaml").read_text()

    studio.play_radio(page)
    assert not page.find("#error").is_displayed()
    page.find("#radio-stop").click()
    wait_for(lambda: "running: false" in page.find("#radio-status").text, 30, "the radio to stop")


def test_transcribe_a_song_and_download_its_midi(studio_server, page, tmp_path):
    """The Transcribe tab: upload a rendered chord, see its piano roll, hear its MIDI, download it;
    then a silent song: one line in the page."""
    import numpy as np
    import pretty_midi
    import soundfile as sf

    from composer.render.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=90, pitch=p, start=0.5, end=2.0) for p in (60, 64, 67)]
    pm.instruments.append(piano)
    song, quiet = tmp_path / "chord.wav", tmp_path / "quiet.wav"
    sf.write(str(song), render_midi(pm, sample_rate=44100), 44100)
    sf.write(str(quiet), np.zeros(44100), 44100)

    page.driver.get(studio_server.url)
    studio.transcribe(page, song)
    title = page.find("#tr-result .title").text
    assert "chord.wav: " in title and "(pitches 60-" in title
    page.find(".download-transcription").click()
    downloaded = tmp_path / "downloads" / "chord.mid"
    wait_for(downloaded.is_file, 30, "the MIDI download")
    held = {n.pitch for n in pretty_midi.PrettyMIDI(str(downloaded)).instruments[0].notes if n.end - n.start > 0.3}
    assert held == {60, 64, 67}

    page.find("#tr-file").send_keys(str(quiet))
    page.find("#tr-submit").click()
    wait_for(lambda: page.find("#error").is_displayed(), 120, "the error message")
    assert page.find("#error").text.startswith("quiet.wav: silent (peak -inf dBFS)")
