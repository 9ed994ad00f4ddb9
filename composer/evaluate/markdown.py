"""report.md from an evaluation's metrics dict: a plain-language summary first, then tables a reader can scan,
plots linked beside them."""

from __future__ import annotations

from typing import Any

from composer.evaluate.summary import next_steps, summarize


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows] + [""]


def _likelihood(m: dict) -> list[str]:
    if "baseline_nll_per_event" not in m and "eval_bits_per_sample" not in m and "eval_loss" not in m:
        return []
    lines = ["## Held-out likelihood", ""]
    if "baseline_nll_per_event" in m:
        rows = [["model", m["eval_nll_per_event"]]] if "eval_nll_per_event" in m else []
        rows += [["unigram (add-one)", m["baseline_nll_per_event"]["unigram"]]]
        rows += [[f"Kneser-Ney {k}-gram", v] for k, v in m["ngram_nll_by_order"].items()]
        lines += ["Nats per event on the eval split (lower is better); n-grams are interpolated modified "
                  "Kneser-Ney fit on the train split.", ""] + _table(["predictor", "nats/event"], rows)
        if "gain_over_best_baseline_nats" in m:
            lines += [f"Gain of the model over the best baseline: **{m['gain_over_best_baseline_nats']:.3f} "
                      "nats/event** (positive: the model predicts better).", ""]
    lines += _by_position(m)
    lines += _mixture(m) + _context(m)
    if "eval_bits_per_sample" in m:
        lines += _table(["predictor", "bits/sample"], [["model", m["eval_bits_per_sample"]],
                                                        ["unigram", m["baseline_bits_per_sample"]["unigram"]]])
    if "eval_loss" in m:
        lines += _table(["predictor", "eval loss (nats/frame)"], [["model", m["eval_loss"]]] + [
            [name.replace("_", " "), value] for name, value in m["baseline_eval_loss"].items()])
    return lines


def _by_position(m: dict) -> list[str]:
    """The NLL by position in the eval window, over all windows and over the same windows."""
    if "nll_by_position" not in m:
        return []
    rows = [[name, *bands.values()] for name, bands in m["nll_by_position"].items()]
    bands = list(next(iter(m["nll_by_position"].values())))
    if "eval_windows_by_position" in m:
        rows.append(["eval windows reaching the band", *m["eval_windows_by_position"].values()])
    lines = ["Nats per event by the position of the predicted event in its eval window. The later bands hold only "
             "the windows long enough to reach them (last row): a few long pieces, whose own difficulty moves the "
             "figures as much as the position does.", ""] + _table(["predictor", *bands], rows)
    if "nll_change_by_position" in m:
        changes = m["nll_change_by_position"]
        later = list(next(iter(changes.values())))
        lines += ["The same windows only: each later band minus the opening events (first band) of the windows "
                  "that reach it, in nats/event, which leaves each piece's difficulty out. A model that uses long "
                  "context predicts better further in (negative), more so than the n-gram; one that loses track "
                  "gets worse (positive).", ""]
        lines += _table(["predictor", *later], [[name, *values.values()] for name, values in changes.items()])
    return lines


def _mixture(m: dict) -> list[str]:
    if "ngram_mix" not in m:
        return []
    mix, held = m["ngram_mix"], m["ngram_mix"]["held_apart"]
    return [f"Neural + n-gram mixture, (1 - w) p_model + w p_ngram with a Kneser-Ney {mix['order']}-gram, "
            f"{weights_text(mix)}, fitted on {held['held_apart_chunks']} train chunks held apart from training "
            f"(there: model {held['nll_model']:.4g}, n-gram {held['nll_ngram']:.4g}, mixture "
            f"{held['nll_mixture']:.4g}).", ""] + _table(
        ["predictor (eval split, same events)", "nats/event"],
        [["model alone", mix["nll_model"]], ["model + n-gram mixture", mix["nll_mixture"]],
         *([["the mixture with one weight", mix["nll_mixture_single"]]] if mix["by_context_length"] else []),
         ["best n-gram", min(m["baseline_nll_per_event"].values())]])


def weights_text(mix: dict) -> str:
    """The mixture's weight, or its weights by the length of context the n-gram remembers."""
    weights = mix["weights"]
    if not mix["by_context_length"]:
        return f"w = {weights[0]:.3f}"
    listed = ", ".join(f"{w:.2f}" for w in weights)
    return f"w by the context length the n-gram remembers (0..{len(weights) - 1}): {listed}"


def _context(m: dict) -> list[str]:
    if m.get("context_gain") is None:
        return []
    return [f"Context gain: **{m['context_gain']:.3f} nats/event** = NLL with the context cut to the last "
            f"{m['context_cut_events']} events ({m['context_nll_cut']:.4g}) - NLL with the full context "
            f"({m['context_nll_full']:.4g}), over {m['context_events_scored']} eval events at position >= "
            f"{m['context_min_position']} in their window (positive: the model uses the longer context).", ""]


def _features(m: dict) -> list[str]:
    if "feature_overlap" not in m:
        return []
    rows = [[name, m["feature_overlap"][name], m["feature_overlap_ceiling"][name], m["feature_kl"][name],
             m["feature_kl_ceiling"][name]] for name in m["feature_overlap"]]
    return ["## Symbolic features (Yang & Lerch 2019)", "",
            "Overlap area of histograms (1 = identical) and KL(eval || set) in nats; the train split "
            "against the eval split is the ceiling.", ""] + _table(
        ["feature", "overlap generated", "overlap train (ceiling)", "KL generated", "KL train"], rows) + [
        f"Overlap ratio generated/ceiling: **{m['feature_overlap_ratio']:.3f}** against the eval-vs-train ceiling "
        "(the train split as stored)", ""] + _augmented_ceiling(m)


def _augmented_ceiling(m: dict) -> list[str]:
    if "feature_overlap_ratio_augmented_ceiling" not in m:
        return []
    mean = sum(m["feature_overlap_augmented_ceiling"].values()) / len(m["feature_overlap_augmented_ceiling"])
    return [f"Overlap ratio against the augmented train split's ceiling (the train split transposed and "
            f"stretched as the run trained on it, mean overlap {mean:.3f}): "
            f"**{m['feature_overlap_ratio_augmented_ceiling']:.3f}**; a perfect model of what it was shown "
            "reaches 1.", ""]


def _copying(m: dict) -> list[str]:
    if "copying" not in m:
        return []
    keys = ("ngram_share_in_train", "longest_run_notes_mean", "longest_run_notes_max", "pieces")
    rows = [[name, *(row[k] for k in keys)] for name, row in m["copying"].items()]
    return ["## Copying", "",
            "Pitch-interval 8-note n-grams found verbatim in the train split, and the longest verbatim run "
            "(notes); the eval split is what fresh music from the corpus shows.", ""] + _table(
        ["set", "8-gram share in train", "longest run (mean)", "longest run (max)", "pieces"], rows) + _longest_run(m)


def _longest_run(m: dict) -> list[str]:
    """Where the eval split's longest verbatim run comes from: a repeated section of one piece is no copy."""
    reference = m["copying"].get("eval (reference)", {})
    if "longest_run_piece" not in reference:
        return []
    where = ("recurs in a train chunk of the same piece: a section the piece repeats, one statement held out "
             "and one trained on, not another piece copied" if reference["longest_run_same_piece"]
             else "is found in another piece of the train split")
    return [f"The eval split's longest run ({reference['longest_run_notes_max']} notes, in "
            f"`{reference['longest_run_piece']}`) {where}.", ""]


def _controls(m: dict) -> list[str]:
    if "control_adherence" not in m:
        return []
    a = m["control_adherence"]
    lines = ["## Controls", ""]
    if "key_hit_rate" in a:
        lines += [f"Asked key estimated (Krumhansl-Kessler) in **{a['key_hit_rate']:.0%}** of {a['pieces']} pieces; "
                  f"mean correlation with the asked key's profile {a['key_correlation']:.3f}.", ""]
    if "density_ratio" in a:
        lines += _table(["asked notes/s", "generated / asked"], [[d, r] for d, r in a["density_ratio"].items()])
        lines += [f"Within 25% of the asked density: **{a['density_within_25pct']:.0%}** of pieces.", ""]
    return lines


def _audio(m: dict) -> list[str]:
    if "spectral_frechet" not in m:
        return []
    ref = m["collapse_reference"]
    checks = ("full_scale_share", "noise_flat_share", "silence_ratio", "clipping_ratio", "loop_ratio", "copy_rate",
              "level_spread_db")
    rows = [[name] + [row[c] for c in checks] for name, row in m["collapse_per_file"].items()]
    rows += [["**mean generated**"] + [m[c] for c in checks], ["eval split (reference)"] + [ref[c] for c in checks]]
    spectral = [[name, m["spectral_overlap"][name], m["spectral_overlap_ceiling"][name], m["spectral_kl"][name]]
                for name in m["spectral_overlap"]]
    return ["## Audio", ""] + _ratios(m) + [
            f"Frechet distance on MFCC statistics vs the eval split: **{m['spectral_frechet']:.4g}** "
            f"(train split: {m['spectral_frechet_ceiling']:.4g}).", ""] + _table(
        ["spectral feature", "overlap generated", "overlap train (ceiling)", "KL generated"], spectral) + [
        "Collapse checks (share of frames or samples) and the level's spread over time (dB); compare with "
        "the eval split's own clips:", ""] + _table(
        ["clip"] + list(checks), rows)


def _ratios(m: dict) -> list[str]:
    """Each figure for the generated set, the noise floor and the ceiling, and the ratio between them."""
    if "audio_ratios" not in m:
        return []
    values = m["audio_figures"]
    rows = [[name, values["generated"][name], values[m["audio_floor"][name]][name], m["audio_floor"][name],
             values["ceiling"][name], m["audio_ratios"][name]] for name in m["audio_ratios"]]
    return ["From noise to the song: 0 = as far from the eval split as noise at the generated loudness, "
            "1 = as close as the train split.", ""] + _table(
        ["figure", "generated", "noise floor", "floor noise", "train (ceiling)", "ratio"], rows)


def _summary(m: dict) -> list[str]:
    """The plain-language opening: findings, warnings, and what to do next."""
    summary = summarize(m)
    lines = ["## Summary", ""] + [line for text in summary.findings for line in (text, "")]
    if summary.warnings:
        lines += ["**Warnings**", ""] + [f"- {text}" for text in summary.warnings] + [""]
    steps = next_steps(summary, m)
    lines += ["**What to do next**", ""] + ([f"- {text}" for text in steps] or [
        "- Nothing here calls for a change: listen to the generated files and keep what you like."]) + [""]
    return lines


def render_report(metrics: dict) -> str:
    """The whole report as Markdown; plots are linked by their paths relative to the report."""
    lines = ["# Evaluation", "", f"- corpus: `{metrics['corpus']}`"]
    if metrics.get("run_dir"):
        lines.append(f"- run: `{metrics['run_dir']}` ({metrics['model']})")
    lines += [f"- generated files: {len(metrics['generated'])}", ""]
    lines += _summary(metrics) + _likelihood(metrics) + _features(metrics) + _copying(metrics) + _controls(metrics)
    lines += _audio(metrics)
    if metrics["plots"]:
        lines += ["## Plots", ""] + [f"![{name}]({path})" for name, path in metrics["plots"].items()] + [""]
    return "\n".join(lines)
