"""Render and mix benchmark: composer's in-process fluidsynth vs the fluidsynth command line,
and composer's mixer vs a plain read-sum-normalize-clip mix.

    .venv/bin/python benchmarks/render_mix.py [--minutes 4] [--repeats 3] [--stems 8] [--stem-minutes 3]
                                              [--only render|mix] [--no-stems]

Each render runs in a fresh subprocess (same MIDI file, same soundfont, 44.1 kHz) and the two
programs alternate; figures are medians. Memory: for composer, the rise of peak RSS during
render_midi (the peak is reset just before it via /proc/self/clear_refs); for the CLI, its whole
max RSS. "audio" is the rendered float32 stereo size, the limit being 2x that. The mix writes
16-bit stems to stems/ (the master's bit depth) unless --no-stems (master ``stems: false``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pretty_midi

SAMPLE_RATE = 44100
# (GM program, lowest pitch, notes per beat, chord size): a dense band
PARTS = [(0, 48, 2, 3), (33, 28, 2, 1), (48, 55, 0.5, 4), (80, 67, 4, 1), (61, 55, 1, 2),
         (25, 52, 2, 1), (16, 60, 0.25, 3), (73, 72, 1, 1)]


def dense_midi(minutes: float, *, seed: int = 0, bpm: float = 150.0) -> pretty_midi.PrettyMIDI:
    """Eight pitched parts plus drums, up to sixteenth notes and chords, with a sustain pedal on the
    piano and pitch bends on the lead."""
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    beat = 60.0 / bpm
    n_beats = int(minutes * 60 / beat)
    for program, low, per_beat, chord in PARTS:
        inst = pretty_midi.Instrument(program=program)
        step = beat / per_beat
        for k in range(int(n_beats * per_beat)):
            root = low + int(rng.integers(0, 12))
            for j in range(chord):
                inst.notes.append(pretty_midi.Note(int(rng.integers(60, 120)), root + 4 * j, k * step,
                                                   (k + 0.9) * step))
        for bar in range(0, n_beats, 4) if program == 0 else ():  # sustain pedal on the piano, per bar
            inst.control_changes += [pretty_midi.ControlChange(64, 127, bar * beat),
                                     pretty_midi.ControlChange(64, 0, (bar + 3.9) * beat)]
        if program == 80:
            inst.pitch_bends += [pretty_midi.PitchBend(int(2000 * np.sin(t / 3)), t * beat / 8)
                                 for t in range(n_beats * 8)]
        pm.instruments.append(inst)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for k in range(n_beats * 4):
        for pitch, every in ((42, 1), (36, 4), (38, 8)):
            if k % every == 0:
                drums.notes.append(pretty_midi.Note(int(rng.integers(70, 127)), pitch, k * beat / 4,
                                                    k * beat / 4 + 0.05))
    pm.instruments.append(drums)
    return pm


def _child_render(midi: str) -> None:
    """Run in a subprocess: time render_midi on the file, report peak RSS rise as JSON."""
    from composer.render.synth import render_midi

    warm_up = pretty_midi.PrettyMIDI()  # one short note: render_midi refuses a MIDI without notes
    warm_up.instruments.append(pretty_midi.Instrument(0))
    warm_up.instruments[0].notes.append(pretty_midi.Note(velocity=1, pitch=60, start=0.0, end=0.01))
    render_midi(warm_up, sample_rate=SAMPLE_RATE)  # load the library outside the timing
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    start, cpu = time.perf_counter(), time.process_time()
    audio = render_midi(midi, sample_rate=SAMPLE_RATE)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "n_samples": len(audio),
                      "peak_rise_mb": (_status_kb("VmHWM") - before) / 1024, "audio_mb": audio.nbytes / 2**20}))


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def render_ours(midi: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child-render", str(midi)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render_cli(midi: Path, soundfont: Path, wav: Path) -> dict:
    """fluidsynth -ni -F: wall time, CPU time and max RSS (from /usr/bin/time)."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "fluidsynth", "-ni", "-q", "-F", str(wav),
                           "-r", str(SAMPLE_RATE), str(soundfont), str(midi)],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    rss_kb, user_s, sys_s = done.stderr.strip().splitlines()[-1].split()
    return {"seconds": seconds, "cpu_s": float(user_s) + float(sys_s), "max_rss_mb": int(rss_kb) / 1024}


def bench_render(minutes: float, repeats: int, folder: Path) -> None:
    from composer.render.synth import DEFAULT_SOUNDFONT

    midi = folder / "dense.mid"
    pm = dense_midi(minutes)
    pm.write(str(midi))
    n_notes = sum(len(i.notes) for i in pm.instruments)
    print(f"dense MIDI: {minutes} min, {len(pm.instruments)} instruments, {n_notes} notes, "
          f"soundfont {DEFAULT_SOUNDFONT.name}")
    ours, cli = [], []
    for _ in range(repeats):
        ours.append(render_ours(midi))
        cli.append(render_cli(midi, DEFAULT_SOUNDFONT, folder / "cli.wav"))
    import soundfile

    audio_s = ours[0]["n_samples"] / SAMPLE_RATE
    cli_s = soundfile.info(str(folder / "cli.wav")).duration
    t_ours, t_cli = (statistics.median(r["seconds"] for r in rows) for rows in (ours, cli))
    c_ours, c_cli = (statistics.median(r["cpu_s"] for r in rows) for rows in (ours, cli))
    print(f"{'':24}{'wall s':>8}{'cpu s':>8}{'x realtime (cpu)':>18}{'memory MB':>11}")
    print(f"{'composer render_midi':24}{t_ours:8.2f}{c_ours:8.2f}{audio_s / c_ours:18.1f}"
          f"{ours[0]['peak_rise_mb']:11.1f}"
          f"   (rendered {audio_s:.1f} s = {ours[0]['audio_mb']:.1f} MB float32 stereo)")
    print(f"{'fluidsynth CLI -F':24}{t_cli:8.2f}{c_cli:8.2f}{cli_s / c_cli:18.1f}{cli[0]['max_rss_mb']:11.1f}"
          f"   (rendered {cli_s:.1f} s to 16-bit wav)")
    print(f"speed ratio ours / CLI for the same file: {c_cli / c_ours:.2f}x in CPU time, "
          f"{t_cli / t_ours:.2f}x in wall time; "
          f"memory: {max(r['peak_rise_mb'] for r in ours) / ours[0]['audio_mb']:.2f}x the rendered audio")
    print(f"wall runs ours: {[round(r['seconds'], 2) for r in ours]}  CLI: {[round(r['seconds'], 2) for r in cli]}")


def _plain_mix(paths: list[Path], out: Path) -> None:
    """The baseline: read, sum, pyloudnorm to -14 LUFS, clip, write 16-bit."""
    import pyloudnorm
    import soundfile

    total = sum(soundfile.read(str(p), dtype="float32")[0] for p in paths)
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    total = pyloudnorm.normalize.loudness(total, meter.integrated_loudness(total), -14.0)
    soundfile.write(str(out), np.clip(total, -1, 1), SAMPLE_RATE, subtype="PCM_16")


def bench_mix(n_stems: int, minutes: float, repeats: int, folder: Path, *, stems: bool = True) -> None:
    from composer.audio_io import write_audio
    from composer.render.mixer import mix

    rng = np.random.default_rng(1)
    n = int(minutes * 60 * SAMPLE_RATE)
    paths = []
    for i in range(n_stems):
        t = np.arange(n) / SAMPLE_RATE
        tone = 0.2 * np.sin(2 * np.pi * 110 * (i + 1) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
        stem = np.stack([tone, tone], axis=1) + 0.02 * rng.standard_normal((n, 2))
        paths.append(write_audio(folder / f"stem{i}.wav", stem.astype(np.float32), SAMPLE_RATE, subtype="PCM_16"))
    spec = {"master": {"sample_rate": SAMPLE_RATE, "target_lufs": -14.0, "ceiling_db": -1.0, "bit_depth": 16,
                       "stems": stems},
            "stems": [{"source": str(p), "gain_db": -i, "pan": (i / (n_stems - 1)) * 2 - 1}
                      for i, p in enumerate(paths)]}
    ours, plain, ours_cpu, plain_cpu = [], [], [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        report = mix(spec, out=folder / "mix" / "mix.wav")
        ours.append(time.perf_counter() - start)
        ours_cpu.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        _plain_mix(paths, folder / "plain.wav")
        plain.append(time.perf_counter() - start)
        plain_cpu.append(time.process_time() - cpu)
    print(f"\nmix: {n_stems} stems x {minutes} min, 44.1 kHz stereo 16-bit wav in, 16-bit out")
    print(f"{'':40}{'wall s':>8}{'cpu s':>8}")
    label = "composer mix (+16-bit stems/, mix.json)" if stems else "composer mix (stems: false, mix.json)"
    print(f"{label:40}{statistics.median(ours):8.2f}{statistics.median(ours_cpu):8.2f}"
          f"   -> {report['lufs']} LUFS, peak {report['peak_db']} dBFS, wall runs {[round(x, 2) for x in ours]}")
    print(f"{'plain read+sum+pyloudnorm+clip':40}{statistics.median(plain):8.2f}{statistics.median(plain_cpu):8.2f}"
          f"   wall runs {[round(x, 2) for x in plain]}")
    print(f"ratio ours / plain: {statistics.median(ours) / statistics.median(plain):.2f}x wall, "
          f"{statistics.median(ours_cpu) / statistics.median(plain_cpu):.2f}x CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stems", type=int, default=8)
    parser.add_argument("--stem-minutes", type=float, default=3.0)
    parser.add_argument("--only", choices=("render", "mix"), help="run one of the two benchmarks")
    parser.add_argument("--no-stems", action="store_true", help="mix with master 'stems: false' (no stems/ files)")
    parser.add_argument("--child-render", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_render:
        return _child_render(args.child_render)
    print(f"machine load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])} (2 cores, shared)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "render"):
            bench_render(args.minutes, args.repeats, Path(tmp))
        if args.only in (None, "mix"):
            bench_mix(args.stems, args.stem_minutes, args.repeats, Path(tmp), stems=not args.no_stems)


if __name__ == "__main__":
    main()
