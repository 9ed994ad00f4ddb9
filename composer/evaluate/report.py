"""``composer evaluate``: did training help, is the output like the corpus, did generation collapse?

Gathers the measures of this package into ``out/metrics.json`` (the keys of docs/interfaces.md,
plus details) and ``out/report.md`` with PNG plots. With a run dir it adds the model's held-out
likelihood next to its baselines (each family supplies both: ``ModelFamily.heldout_likelihood``),
and generates a fresh sample set when no files are given; without one it measures the given files
(.mid or audio) against the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from composer.atomic import write_text_atomic
from composer.audio_io import AUDIO_EXTENSIONS, read_audio
from composer.errors import ComposerError, CorpusError
from composer.evaluate import adherence, plots
from composer.evaluate.markdown import render_report
from composer.evaluate.summary import ENOUGH_PIECES
from composer.measures import audio_metrics, audio_reference, copying, distributions, features
from composer.train.family import SUFFIXES, ModelFamily, get_family
from composer.train.run import read_config

ADHERENCE_S = 20.0        # length of each piece generated to test a control


def evaluate(run_dir: str | Path | None = None, *, corpus: Any = None, generated: Sequence[str | Path] = (),
             out: str | Path, num: int = ENOUGH_PIECES, seconds: float | None = None,
             root: str | Path | None = None) -> dict:
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
    family = _run_family(run_dir) if run_dir else None
    corpus = _open_corpus(corpus, run_dir, root)
    files = _generated_files(run_dir, family, generated, out=out, num=num, seconds=seconds)
    midi = [p for p in files if p.suffix.lower() in features.MIDI_EXTENSIONS]
    audio = [p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS]
    metrics: dict[str, Any] = {"corpus": corpus.name, "model": family.name if family else None,
                               "run_dir": str(run_dir) if run_dir else None, "generated": [str(p) for p in files]}
    if run_dir:
        from composer.train.run import load_run

        metrics.update(family.heldout_likelihood(load_run(run_dir), corpus))
    midi_run = family is not None and family.output == "midi"
    if not midi_run and (midi or (not files and corpus.chunk_counts()["eval"]["symbolic"] > 0)):
        from composer.symbolic.heldout import corpus_baselines

        metrics.update(corpus_baselines(corpus))
    figures = likelihood_plots(metrics, out)
    if midi:
        config = read_config(run_dir, family) if midi_run else None
        metrics.update(symbolic_features(midi, corpus, out, figures, augmentation=config))
    if midi_run:
        metrics.update(control_adherence(run_dir, family, out, seconds=seconds))
    if audio:
        metrics.update(audio_measures(audio, corpus, out, figures))
    metrics["plots"] = figures
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(out / "report.md", render_report(metrics))
    return metrics


# ---------------------------------------------------------------- inputs


def _run_family(run_dir: Path) -> ModelFamily:
    """The ModelFamily that trained ``run_dir`` (named in its config.yaml)."""
    from composer.train.run import model_name

    return get_family(model_name(run_dir))


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


def _generated_files(run_dir: Path | None, family: ModelFamily | None, generated: Sequence[str | Path], *, out: Path,
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

    options = {"num": num} if seconds is None else {"num": num, "seconds": seconds}
    sample = out / "samples" / f"sample{SUFFIXES[family.output]}"
    return [Path(p) for p in generate(run_dir, out=sample, **options)]


# ---------------------------------------------------------------- symbolic


def likelihood_plots(metrics: dict, out: Path) -> dict[str, str]:
    """Plots of the event likelihoods in ``metrics`` (NLL by position, by n-gram order), if it has them."""
    figures = {}
    if "nll_by_position" in metrics:
        figures["nll_by_position"] = str(plots.plot_by_position(
            metrics["nll_by_position"], out=out / "plots" / "nll_by_position.png").relative_to(out))
    if "ngram_nll_by_order" in metrics:
        figures["likelihood"] = str(plots.plot_ngram(
            metrics["ngram_nll_by_order"], unigram=metrics["baseline_nll_per_event"]["unigram"],
            model=metrics.get("eval_nll_per_event"), out=out / "plots" / "likelihood.png").relative_to(out))
    return figures


def symbolic_features(midi: Sequence[Path], corpus: Any, out: Path, figures: dict, *,
                      augmentation: Any = None) -> dict:
    """Feature distributions (Yang & Lerch) of the generated MIDI vs the eval split, and two ceilings: the
    train split's, and (given a run's event config, ``augmentation``) the train split as that run augments it."""
    pieces = {"generated": list(midi), "eval": list(corpus.sequences("eval")), "train": list(corpus.sequences("train"))}
    sets = {label: features.set_features(items) for label, items in pieces.items()}
    if not sets["eval"]["velocity"].size:
        raise CorpusError(f"corpus '{corpus.name}' has no symbolic eval chunks to compare MIDI with")
    figures["features"] = str(plots.plot_distributions(
        {label: features.histograms(values) for label, values in sets.items()}, features.FEATURE_BINS,
        title="Symbolic features (share per bin)", out=out / "plots" / "features.png").relative_to(out))
    grams = copying.TrainGrams((copying.intervals(s) for s in pieces["train"]), ids=[s.id for s in pieces["train"]])
    copies = {"generated": copying.copy_measures(midi, grams),
              "eval (reference)": copying.copy_measures(pieces["eval"], grams)}
    summary = features.feature_summary(sets["generated"], sets["eval"], sets["train"])
    summary["feature_overlap_ratio_eval_ceiling"] = summary["feature_overlap_ratio"]
    if augmentation is not None:
        from composer.evaluate import augmented  # TensorFlow: only for a run's own augmentation
        from composer.symbolic.cache import encoded_split

        train = encoded_split(corpus, "train", augmentation.encoding)
        summary.update(augmented.augmented_ceiling(sets["generated"], sets["eval"],
                                                   augmented.augmented_features(train, augmentation)))
    return {**summary, "copying": copies, "feature_pieces": {label: len(items) for label, items in pieces.items()}}


def control_adherence(run_dir: Path, family: ModelFamily, out: Path, *, seconds: float | None) -> dict:
    """Key and density adherence of a conditioned MIDI run over 12 keys and several densities."""
    config = read_config(run_dir, family)
    if not config.controls:
        return {}
    return {"control_adherence": adherence.measure(run_dir, config, out=out / "adherence",
                                                   seconds=seconds or ADHERENCE_S)}


# ---------------------------------------------------------------- audio


def _collapse(audio: np.ndarray, train: list[np.ndarray], sample_rate: int) -> dict[str, float]:
    return {**audio_reference.collapse_shares(audio, sample_rate=sample_rate),
            "silence_ratio": audio_metrics.silence_ratio(audio),
            "clipping_ratio": audio_metrics.clipping_ratio(audio),
            "loop_ratio": audio_metrics.loop_ratio(audio, sample_rate=sample_rate),
            "copy_rate": audio_metrics.copy_rate(audio, train, sample_rate=sample_rate),
            "level_spread_db": audio_reference.level_spread_db(audio)}


def audio_measures(paths: Sequence[Path], corpus: Any, out: Path, figures: dict) -> dict:
    """Spectral statistics, MFCC Frechet distance, noise-to-song ratios and collapse checks of generated audio.

    The eval split's own clips get the same collapse checks (``collapse_reference``) and the
    train split the same spectral comparison (``*_ceiling``), so every figure has a yardstick;
    ``audio_ratios`` place the generated set between noise at its loudness (0) and that ceiling (1).
    """
    sr = corpus.sample_rate
    train = audio_metrics.reference_clips(corpus.audio("train"), sample_rate=sr)
    eval_ = audio_metrics.reference_clips(corpus.audio("eval"), sample_rate=sr)
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
