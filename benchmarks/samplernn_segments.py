"""SampleRNN output judged where the primer no longer helps: ratios over the whole clip and after it.

Usage: python benchmarks/samplernn_segments.py RUN [--checkpoint best|latest|STEP] [--seconds 60] [--num 2]
       [--temperature T] [--skip 8] [--save DIR]

Generates as ``composer generate RUN --seed 0`` does (the same stored song primer), then prints one
JSON line: per segment (the whole clip, and after its first ``--skip`` seconds) the four ratios
against the run's references (whitened flatness by the local spectrum, as ``composer evaluate``),
the whitened ratio by the whole clip's spectrum (the session-5 yardstick), the noise-flat and
full-scale shares; and per file the second from which its output stays noise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from composer.audio import listening
from composer.audio import primers as primers_
from composer.audio.output import write_generated
from composer.audio.samplernn.family import prefer_one_op_thread, sample_audio
from composer.audio.transforms import load_npz
from composer.measures import audio_metrics
from composer.measures import audio_reference as ar


def restore(run_dir: Path, checkpoint: str):
    """The run with the weights of "best", "latest" or a step number's checkpoint."""
    import tensorflow as tf

    from composer.train.run import load_run, model_checkpoint

    run = load_run(run_dir, checkpoint="best" if checkpoint == "best" else "latest")
    if checkpoint.isdigit():
        folder = run_dir / "checkpoints"
        path = folder / f"ckpt-{checkpoint}"
        if not Path(f"{path}.index").exists():
            path = folder / "best" / f"ckpt-{checkpoint}"
        model_checkpoint(run.model, step=tf.Variable(0, dtype=tf.int64)).restore(str(path)).expect_partial()
    return run


def noise_from(audio: np.ndarray, sample_rate: int) -> float:
    """Seconds into ``audio`` after which the 1 s rolling mean of frame whitened flatness stays noise-flat
    (inf: it never does)."""
    flat = ar.frame_whitened_flatness(audio, sample_rate=sample_rate)
    per_s = max(1, int(sample_rate / audio_metrics.HOP))
    if len(flat) < per_s:
        return float("inf")
    noisy = np.convolve(flat, np.ones(per_s) / per_s, mode="valid") >= ar.NOISE_FLAT
    clean = np.nonzero(~noisy)[0]
    onset = clean[-1] + 1 if clean.size else 0
    return round(onset / per_s, 1) if onset < len(noisy) else float("inf")


def whole_clip_whitened_ratio(audio: np.ndarray, run_dir: Path, sample_rate: int) -> float | None:
    """The whitened-flatness ratio with each clip whitened by its whole long-term spectrum."""
    refs = load_npz(run_dir / listening.REFERENCES)

    def value(clips):
        return ar.whitened_flatness(clips, sample_rate=sample_rate, local_s=None)

    floors = [value([ar.noise_like(a, colour=colour) for a in audio]) for colour in ("white", "pink")]
    ceiling = value([refs["train"]])
    floor = min(floors, key=lambda f: abs(f - ceiling))
    return ar.ratio(value(list(audio)), floor=floor, ceiling=ceiling)


def judge(audio: np.ndarray, run_dir: Path, sample_rate: int) -> dict:
    ratios = listening.sample_ratios(audio, run_dir, sample_rate=sample_rate)
    shares = [ar.collapse_shares(row, sample_rate=sample_rate) for row in audio]
    return {**{k.removeprefix("ratio_"): round(v, 3) for k, v in ratios.items() if k.startswith("ratio_")},
            "whitened_whole_clip": round(whole_clip_whitened_ratio(audio, run_dir, sample_rate) or 0.0, 3),
            "noise_flat": round(float(np.mean([s["noise_flat_share"] for s in shares])), 3),
            "full_scale": round(float(np.mean([s["full_scale_share"] for s in shares])), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", default="best")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--num", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--skip", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="also write the wavs here")
    args = parser.parse_args()
    prefer_one_op_thread()
    run = restore(args.run, args.checkpoint)
    sample_rate = run.meta["sample_rate"]
    primer = primers_.choose(load_npz(args.run / primers_.PRIMERS)["audio"], 1, args.seed)[0]
    start = time.time()
    audio = sample_audio(run.model, run.meta, seconds=args.seconds, temperature=args.temperature, seed=args.seed,
                         num=args.num, primer=primer)
    seconds = time.time() - start
    if args.save:
        write_generated(audio, sample_rate, args.save / "sample.wav", warn=False)
    skip = int(args.skip * sample_rate)
    print(json.dumps({"run": args.run.name, "step": run.step if not args.checkpoint.isdigit() else int(args.checkpoint),
                      "temperature": args.temperature, "generate_s": round(seconds, 1),
                      "all": judge(audio, args.run, sample_rate),
                      f"after_{args.skip:g}s": judge(audio[:, skip:], args.run, sample_rate),
                      "noise_from_s": [noise_from(row, sample_rate) for row in audio]}), flush=True)


if __name__ == "__main__":
    main()
