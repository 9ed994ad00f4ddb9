"""``composer evaluate``: did training help, is the output like the corpus, did generation collapse?

Gathers the measures of this package into ``out/metrics.json`` (keys of DESIGN.md, plus
details) and ``out/report.md`` with PNG plots. With a run dir it adds the model's held-out
likelihood next to baselines fit on the same corpus, and generates a fresh sample set when no
files are given; without one it measures the given files (.mid or audio) against the corpus.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from composer.atomic import write_text_atomic
from composer.audio_io import AUDIO_EXTENSIONS, read_audio
from composer.errors import ComposerError, CorpusError
from composer.evaluate import (
    adherence,
    audio_metrics,
    audio_reference,
    copying,
    distributions,
    features,
    plots,
    position,
)
from composer.evaluate.markdown import render_report
from composer.evaluate.ngram import ngram_baselines

NGRAM_ORDERS = (3, 5, 7, 10)
MAX_REFERENCE_S = 600.0   # audio per split used as reference (first chunks), to bound time and memory
AUDIO_MODELS = ("samplernn", "lstm-vae")
ADHERENCE_S = 20.0        # length of each piece generated to test a control


def evaluate(run_dir: str | Path | None = None, *, corpus: Any = None, generated: Sequence[str | Path] = (),
             out: str | Path, num: int = 4, seconds: float | None = None, root: str | Path | None = None) -> dict:
    """Measure a run and/or generated files against a corpus; write metrics.json and report.md.

    Args:
      run_dir: a trained run (adds model likelihood; samples ``num`` files when none are given).
      corpus: a ``Corpus`` or a corpus name; default the run's (``RUN_DIR/corpus.json``).
      generated: .mid/.midi and audio files, or folders of them.
      out: folder for metrics.json, report.md, plots/ and samples/.
      num, seconds: size of the sample set generated from ``run_dir``.
      root: corpus root when ``corpus`` is a name (default $COMPOSER_CORPUS_ROOT, else ./corpora).
    Returns:
      The metrics dict written to ``out/metrics.json``.
    """
    out = Path(out)
    run_dir = Path(run_dir) if run_dir is not None else None
    model = _run_model(run_dir) if run_dir else None
    corpus = _open_corpus(corpus, run_dir, root)
    files = _generated_files(run_dir, model, generated, out=out, num=num, seconds=seconds)
    midi = [p for p in files if p.suffix.lower() in features.MIDI_EXTENSIONS]
    audio = [p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS]
    metrics: dict[str, Any] = {"corpus": corpus.name, "model": model, "run_dir": str(run_dir) if run_dir else None,
                               "generated": [str(p) for p in files]}
    figures: dict[str, str] = {}
    counts = corpus.chunk_counts()
    symbolic_run = _is_symbolic(model)
    wants_symbolic = symbolic_run or midi or (not files and counts["eval"]["symbolic"] > 0)
    if wants_symbolic:
        metrics.update(symbolic_likelihood(corpus, run_dir if symbolic_run else None, out, figures))
    if midi:
        metrics.update(symbolic_features(midi, corpus, out, figures))
    if symbolic_run:
        metrics.update(control_adherence(run_dir, model, out, seconds=seconds))
    if model in AUDIO_MODELS:
        metrics.update(audio_likelihood(run_dir, model, corpus))
    if audio:
        metrics.update(audio_measures(audio, corpus, out, figures))
    metrics["plots"] = figures
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(out / "report.md", render_report(metrics))
    return metrics


# ---------------------------------------------------------------- inputs


def _run_model(run_dir: Path) -> str:
    from composer.train.run import model_name

    return model_name(run_dir)


def _is_symbolic(model: str | None) -> bool:
    """Whether runs of ``model`` are a family over performance events (they write MIDI)."""
    from composer.train.family import get_family

    return model is not None and getattr(get_family(model), "symbolic", False)


def _open_corpus(corpus: Any, run_dir: Path | None, root: str | Path | None) -> Any:
    """A Corpus object from an object, a name, or the run's corpus.json."""
    if corpus is not None and not isinstance(corpus, str):
        return corpus
    name = corpus
    if name is None and run_dir is not None:
        from composer.train.run import CORPUS, read_json

        name = read_json(run_dir / CORPUS).get("name")
    if not name:
        raise ComposerError("nothing to compare against: give --corpus NAME or a run dir trained on a corpus")
    from composer.corpus import Corpus

    return Corpus.open(name, root=root)


def _generated_files(run_dir: Path | None, model: str | None, generated: Sequence[str | Path], *, out: Path,
                     num: int, seconds: float | None) -> list[Path]:
    """The files to measure: the given ones (folders expanded), else a fresh set from the run."""
    known = features.MIDI_EXTENSIONS + AUDIO_EXTENSIONS
    files: list[Path] = []
    for path in map(Path, generated):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in known)
        elif not path.is_file():
            raise ComposerError(f"{path}: no such file")
        elif path.suffix.lower() not in known:
            raise ComposerError(f"{path}: cannot evaluate '{path.suffix}' files (use {', '.join(known)})")
        else:
            files.append(path)
    if generated and not files:
        raise ComposerError(f"no .mid or audio files in {', '.join(map(str, generated))}")
    if files or run_dir is None:
        return files
    from composer.generate import generate

    suffix = ".mid" if _is_symbolic(model) else ".wav"
    options = {"num": num} if seconds is None else {"num": num, "seconds": seconds}
    return [Path(p) for p in generate(run_dir, out=out / "samples" / f"sample{suffix}", **options)]


def _encoding(run: Any) -> Any:
    """The run's performance encoding (velocity bins, program, sustain), or Magenta's default."""
    from composer.symbolic.encoding import PerformanceEncoding

    return run.config.encoding if run is not None else PerformanceEncoding()


def _encoded_split(corpus: Any, split: str, encoding: Any) -> list[np.ndarray]:
    from composer.symbolic.cache import encoded_split

    return encoded_split(corpus, split, encoding)


def _take_audio(clips: Iterable[np.ndarray], *, max_samples: int) -> list[np.ndarray]:
    """The first clips of an iterator, up to ``max_samples`` samples in total."""
    taken, total = [], 0
    for clip in clips:
        if total >= max_samples:
            break
        taken.append(np.asarray(clip, dtype=np.float32)[: max_samples - total])
        total += taken[-1].size
    return taken


# ---------------------------------------------------------------- symbolic


def symbolic_likelihood(corpus: Any, run_dir: Path | None, out: Path, figures: dict) -> dict:
    """Eval NLL per event of the model (with a run) and of unigram and KN n-gram baselines."""
    run = _load_run(run_dir) if run_dir else None
    encoding = _encoding(run)
    train, eval_ = _encoded_split(corpus, "train", encoding), _encoded_split(corpus, "eval", encoding)
    if not any(len(s) for s in train) or not any(len(s) for s in eval_):
        raise CorpusError(f"corpus '{corpus.name}' needs symbolic chunks in both splits for likelihood baselines")
    base = ngram_baselines(train, eval_, vocab_size=encoding.num_classes, orders=NGRAM_ORDERS)
    result: dict[str, Any] = {
        "baseline_nll_per_event": {"unigram": base["unigram"], "ngram": base["ngram"]},
        "ngram_order": base["ngram_order"], "ngram_nll_by_order": base["ngram_by_order"],
        "events": {"train": int(sum(map(len, train))), "eval": int(sum(map(len, eval_)))},
    }
    by_position = {f"Kneser-Ney {base['ngram_order']}-gram": position.ngram_nll_by_position(
        train, eval_, order=base["ngram_order"], vocab_size=encoding.num_classes)}
    if run is not None:
        from composer.train.run import eval_loss

        nll = float(eval_loss(run, corpus))
        result["eval_nll_per_event"] = nll
        result["gain_over_best_baseline_nats"] = min(base["unigram"], base["ngram"]) - nll
        by_position = {"model": position.model_nll_by_position(run, corpus), **by_position}
    result["nll_by_position"] = by_position
    figures["nll_by_position"] = str(plots.plot_by_position(
        by_position, out=out / "plots" / "nll_by_position.png").relative_to(out))
    figures["likelihood"] = str(plots.plot_ngram(base["ngram_by_order"], unigram=base["unigram"],
                                            model=result.get("eval_nll_per_event"),
                                            out=out / "plots" / "likelihood.png").relative_to(out))
    return result


def symbolic_features(midi: Sequence[Path], corpus: Any, out: Path, figures: dict) -> dict:
    """Feature distributions (Yang & Lerch) of the generated MIDI vs the eval split, and the ceiling."""
    sets = {"generated": features.set_features(midi), "eval": features.set_features(corpus.sequences("eval")),
            "train": features.set_features(corpus.sequences("train"))}
    if not sets["eval"]["velocity"].size:
        raise CorpusError(f"corpus '{corpus.name}' has no symbolic eval chunks to compare MIDI with")
    figures["features"] = str(plots.plot_distributions(
        {label: features.histograms(values) for label, values in sets.items()}, features.FEATURE_BINS,
        title="Symbolic features (share per bin)", out=out / "plots" / "features.png").relative_to(out))
    grams = copying.TrainGrams(copying.intervals(s) for s in corpus.sequences("train"))
    copies = {"generated": copying.copy_measures(midi, grams),
              "eval (reference)": copying.copy_measures(list(corpus.sequences("eval")), grams)}
    return {**features.feature_summary(sets["generated"], sets["eval"], sets["train"]), "copying": copies}


def control_adherence(run_dir: Path, model: str, out: Path, *, seconds: float | None) -> dict:
    """Key and density adherence of a conditioned symbolic run over 12 keys and several densities."""
    from composer.train.family import get_family
    from composer.train.run import read_config

    config = read_config(run_dir, get_family(model))
    if not config.controls:
        return {}
    return {"control_adherence": adherence.measure(run_dir, config, out=out / "adherence",
                                                   seconds=seconds or ADHERENCE_S)}


# ---------------------------------------------------------------- audio


def _load_run(run_dir: Path) -> Any:
    from composer.train.run import load_run

    return load_run(run_dir)


def audio_likelihood(run_dir: Path, model: str, corpus: Any) -> dict:
    """SampleRNN bits per sample vs a unigram; LSTM+VAE eval loss vs repeating the last frame."""
    from composer.train.run import eval_loss

    run = _load_run(run_dir)
    loss = float(eval_loss(run, corpus))
    if model == "samplernn":
        max_samples = int(MAX_REFERENCE_S * corpus.sample_rate)
        unigram = audio_metrics.unigram_bits_per_sample(
            _take_audio(corpus.audio("train"), max_samples=max_samples),
            _take_audio(corpus.audio("eval"), max_samples=max_samples),
            levels=run.config.q_levels, method=run.config.quantization)
        baselines = {"unigram": unigram}
        if run.meta.get("eval_unigram_bits") is not None:  # entropy of the eval split's own histogram: a bound
            baselines["unigram_eval_entropy"] = run.meta["eval_unigram_bits"]
        return {"eval_bits_per_sample": loss / math.log(2), "baseline_bits_per_sample": baselines}
    baselines = dict(run.meta.get("baseline_eval_loss") or {})  # the family's own, on the same windows
    if "repeat_last_frame" not in baselines:
        dataset = run.family.make_dataset(corpus, run.config, run.meta, split="eval", training=False)
        frames = [clip for batch in dataset for clip in _frames_of(batch)]
        baselines["repeat_last_frame"] = audio_metrics.repeat_last_frame_loss(frames)
    return {"eval_loss": loss, "baseline_eval_loss": baselines}


def _frames_of(batch: Any) -> list[np.ndarray]:
    """Normalized frame sequences [time, feature_dim] of one LSTM+VAE eval batch."""
    if isinstance(batch, dict):
        batch = batch["frames"]
    elif isinstance(batch, (tuple, list)):
        batch = batch[0]
    return list(np.asarray(batch))


def _collapse(audio: np.ndarray, train: list[np.ndarray], sample_rate: int) -> dict[str, float]:
    return {**audio_reference.collapse_shares(audio),
            "silence_ratio": audio_metrics.silence_ratio(audio),
            "clipping_ratio": audio_metrics.clipping_ratio(audio),
            "loop_ratio": audio_metrics.loop_ratio(audio, sample_rate=sample_rate),
            "copy_rate": audio_metrics.copy_rate(audio, train, sample_rate=sample_rate)}


def audio_measures(paths: Sequence[Path], corpus: Any, out: Path, figures: dict) -> dict:
    """Spectral statistics, MFCC Frechet distance, noise-to-song ratios and collapse checks of generated audio.

    The eval split's own clips get the same collapse checks (``collapse_reference``) and the
    train split the same spectral comparison (``*_ceiling``), so every figure has a yardstick;
    ``audio_ratios`` place the generated set between noise at its loudness (0) and that ceiling (1).
    """
    sr = corpus.sample_rate
    max_samples = int(MAX_REFERENCE_S * sr)
    train = _take_audio(corpus.audio("train"), max_samples=max_samples)
    eval_ = _take_audio(corpus.audio("eval"), max_samples=max_samples)
    if not train or not eval_:
        raise CorpusError(f"corpus '{corpus.name}' needs audio in both splits to compare audio with "
                          f"(for a MIDI corpus run `composer corpus render-audio {corpus.name}`)")
    generated = [read_audio(p, sample_rate=sr)[0] for p in paths]
    per_file = {p.name: _collapse(a, train, sr) for p, a in zip(paths, generated)}
    reference = [_collapse(a, train, sr) for a in eval_]
    hists = {"generated": audio_metrics.spectral_histograms(generated, sample_rate=sr),
             "eval": audio_metrics.spectral_histograms(eval_, sample_rate=sr),
             "train": audio_metrics.spectral_histograms(train, sample_rate=sr)}
    against = {label: {k: distributions.compare(hists["eval"][k], hists[label][k]) for k in hists["eval"]}
               for label in ("generated", "train")}
    result: dict[str, Any] = {key: float(np.mean([row[key] for row in per_file.values()]))
                              for key in next(iter(per_file.values()))}
    result.update({
        "spectral_overlap": {k: v["overlap"] for k, v in against["generated"].items()},
        "spectral_overlap_ceiling": {k: v["overlap"] for k, v in against["train"].items()},
        "spectral_kl": {k: v["kl"] for k, v in against["generated"].items()},
        "audio_reference_s": {"train": sum(map(len, train)) / sr, "eval": sum(map(len, eval_)) / sr},
        "collapse_per_file": per_file,
        "collapse_reference": {k: float(np.mean([row[k] for row in reference])) for k in reference[0]},
    })
    result.update(audio_reference.noise_to_song(generated, train, eval_, sample_rate=sr))
    figures_ = result["audio_figures"]
    result["spectral_frechet"] = figures_["generated"]["spectral_frechet"]
    result["spectral_frechet_ceiling"] = figures_["ceiling"]["spectral_frechet"]
    figures["spectra"] = str(plots.plot_distributions(
        hists, audio_metrics.spectral_bins(sr), title="Spectral features (share per bin)",
        out=out / "plots" / "spectra.png").relative_to(out))
    rows = dict(per_file, **{"eval (reference)": result["collapse_reference"]})
    figures["collapse"] = str(plots.plot_collapse(rows, out=out / "plots" / "collapse.png").relative_to(out))
    return result
