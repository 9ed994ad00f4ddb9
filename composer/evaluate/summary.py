"""The plain-language summary a report opens with: how far past the baselines the model is, how close its
output is to the corpus, what looks wrong, and what to do next.

Pure functions of the metrics dict ``composer evaluate`` writes (docs/interfaces.md), so a report can
be rendered again from metrics.json and every sentence tested on a crafted dict. Each sentence quotes
the figures it rests on; the thresholds below say when a figure is worth a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.audio.output import COLLAPSE_SHARE
from composer.measures.features import HELD_NOTE_S

ENOUGH_PIECES = 10        # fewer generated files than this give distributions too noisy to trust
ENOUGH_WINDOWS = 10       # a likelihood band reached by fewer eval windows is one or two pieces' difficulty
POSITION_CHANGE = 0.05    # nats/event: a smaller move against the n-gram from the first band to the last is level
FEATURE_GAP = 0.15        # overlap this far below the train split's: a feature the generated pieces get wrong
FEATURES_NAMED = 3        # at most this many differing features are named
HELD_SHARE = 0.02         # share of generated notes held for seconds (and 3x the corpus's) worth a warning
COPY_MARGIN = 0.15        # generated 8-gram share in the train split this far above held-out music's: copying
CLIPPED = 0.01            # share of clipped samples worth a warning
AUDIO_COPY_MARGIN = 0.2   # copy rate this far above the eval clips' own: copying

ADVICE = {
    "train": "Train longer: the same `composer train` command with `--resume --steps N` (N above the steps "
             "trained so far) continues {run}, or train the `default` preset (about 30 minutes on a laptop CPU).",
    "cooler": "Sample at a lower temperature (`composer generate {run} --temperature 0.7`): the model then makes "
              "fewer unlikely choices.",
    "more": "Measure 10 or more generated files: `composer evaluate {run} --num 10 --out DIR`, or give more files "
            "with `--generated`.",
    "copy": "To copy less: stop at an earlier checkpoint, sample at a higher temperature, or train on more music.",
}
BASELINE_NAMES = {"repeat_last_frame": "repeating the last frame", "mean_frame": "the mean frame"}
FEATURE_WORDS = {  # how a feature's typical value reads; {} is the generated set's median
    "polyphony": "{} notes sounding at once",
    "note_duration": "{} s per note",
    "pitch_count": "{} distinct pitches per 10 s",
    "pitch_range": "a range of {} semitones per 10 s",
    "note_density": "{} note onsets per second",
    "inter_onset_interval": "{} s between onsets",
    "velocity": "velocity {}",
}


@dataclass
class Summary:
    """What the report says first: findings (with figures), warnings, and next steps (advice keys)."""

    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str, *advice: str) -> None:
        getattr(self, kind).append(text)
        self.advice += [key for key in advice if key not in self.advice]


def summarize(m: dict) -> Summary:
    """The summary of one evaluation's metrics (symbolic, audio or both)."""
    summary = Summary()
    for check in (_likelihood, _position, _features, _held_notes, _copying, _controls, _audio_closeness,
                  _audio_collapse, _few_files):
        check(m, summary)
    return summary


def next_steps(summary: Summary, m: dict) -> list[str]:
    """The advice the findings and warnings call for, in the order of ``ADVICE``, with the run's path filled in."""
    return [ADVICE[key].format(run=m.get("run_dir") or "RUN_DIR") for key in ADVICE if key in summary.advice]


def _num(value: float) -> str:
    return f"{value:.3g}"


def _versus(model: float, baselines: dict[str, float], *, notes: dict[str, str] | None = None) -> str:
    """'19% below the best n-gram's 1.792 (a Kneser-Ney 10-gram) and 66% below the unigram's 4.278': percent of
    each baseline's figure (the difference itself when a figure is not positive), ``notes`` after a name's figure."""
    parts = []
    for name, value in baselines.items():
        change = f"{abs(value - model) / value:.0%}" if value > 0 and model >= 0 else f"{abs(value - model):.4g}"
        note = f" ({notes[name]})" if notes and name in notes else ""
        parts.append(f"{change} {'below' if model <= value else 'above'} {name}'s {value:.4g}{note}")
    return " and ".join(parts)


# ---------------------------------------------------------------- likelihood


def _likelihood(m: dict, summary: Summary) -> None:
    """The model's held-out figure against each baseline, in percent."""
    if "eval_nll_per_event" in m:
        base = m["baseline_nll_per_event"]
        notes = {"the best n-gram": f"a Kneser-Ney {m['ngram_order']}-gram"} if "ngram_order" in m else None
        model = m["eval_nll_per_event"]
        versus = _versus(model, {"the best n-gram": base["ngram"], "the unigram": base["unigram"]}, notes=notes)
        summary.add("findings", f"The model scores {model:.3f} nats per event on the held-out music (lower is "
                                f"better): {versus}.")
        if model >= base["ngram"]:
            summary.add("warnings", "The model does not beat the n-gram yet: it predicts no better than counting "
                                    "the last few events.", "train")
    elif "baseline_nll_per_event" in m:
        base = m["baseline_nll_per_event"]
        summary.add("findings", f"No model was scored: on the eval split the best n-gram scores {base['ngram']:.3f} "
                                f"nats per event and the unigram {base['unigram']:.3f}; a model worth keeping lands "
                                "below the n-gram.")
    if "eval_bits_per_sample" in m:
        model, unigram = m["eval_bits_per_sample"], m["baseline_bits_per_sample"]["unigram"]
        summary.add("findings", f"The model scores {model:.3f} bits per sample on the held-out audio (lower is "
                                f"better): {_versus(model, {'the unigram': unigram})}.")
    if "eval_loss" in m and "baseline_eval_loss" in m:
        model = m["eval_loss"]
        names = {BASELINE_NAMES.get(name, f"the {name.replace('_', ' ')}"): value
                 for name, value in m["baseline_eval_loss"].items()}
        summary.add("findings", f"The model's held-out loss is {_num(model)} nats per frame (lower is better): "
                                f"{_versus(model, names)}.")
        if model >= min(names.values()):
            summary.add("warnings", "The model does not beat the best of its baselines yet.", "train")


def _position(m: dict, summary: Summary) -> None:
    """Does the model predict events further into a window better than the same windows' opening events, as a
    model using long context does, or worse? Against the n-gram, in the furthest band enough windows reach."""
    changes = m.get("nll_change_by_position", {})
    model = changes.get("model")
    if not model or len(changes) < 2:
        return
    ngram_name, ngram = next((name, values) for name, values in changes.items() if name != "model")
    reached = m.get("eval_windows_by_position", {})
    read = [b for b in model if model[b] is not None and ngram.get(b) is not None
            and reached.get(b, 0) >= ENOUGH_WINDOWS]
    unread = [b for b in model if b not in read and model[b] is not None]
    if read:
        band = read[-1]
        figures = (f"on the {reached[band]} eval windows that reach events {band}, the model predicts those events "
                   f"{_change(model[band])} than the same windows' opening events, the {ngram_name} "
                   f"{_change(ngram[band])}")
        _position_verdict(m, summary, band, figures, model[band] - ngram[band])
    if unread:
        counts = " and ".join(str(reached.get(b, "?")) for b in unread)
        summary.add("findings", f"Events {' and '.join(unread)} are reached by only {counts} eval "
                                f"window{'s' if counts != '1' else ''}: too few to read.")


def _change(nats: float) -> str:
    return f"{abs(nats):.3f} nats per event {'better' if nats < 0 else 'worse'}"


def _position_verdict(m: dict, summary: Summary, band: str, figures: str, against: float) -> None:
    """The sentence for the model's change further in (``figures``), and a caution when the plain bands mislead."""
    change = m["nll_change_by_position"]["model"][band]
    if change > POSITION_CHANGE:
        trained = (f" (it was trained on windows of {m['train_window_events']} events)"
                   if "train_window_events" in m else "")
        summary.add("findings", f"The model gets worse further into a piece: {figures}. It loses track of the "
                                f"piece past its first events{trained}.", "train")
    elif against < -POSITION_CHANGE:
        summary.add("findings", f"The model gains more than the n-gram further into a piece: {figures}. It uses "
                                "context beyond the n-gram's last few events.")
    elif against > POSITION_CHANGE:
        summary.add("findings", f"Further into a piece the model gains less than the n-gram: {figures}.")
    else:
        summary.add("findings", f"Further into a piece the model keeps pace with the n-gram: {figures}.")
    bands = m.get("nll_by_position", {}).get("model", {})
    first = next(iter(bands), None)
    selection = bands[band] - bands[first] - change if first and bands.get(band) is not None else 0.0
    if abs(selection) > POSITION_CHANGE:
        summary.add("findings", f"The table below goes from {bands[first]:.3f} nats per event on events {first} to "
                                f"{bands[band]:.3f} on events {band} partly because only the longer pieces reach the "
                                f"later bands, and their opening events are {'harder' if selection > 0 else 'easier'} "
                                "to predict than most.")


# ---------------------------------------------------------------- symbolic output


def _features(m: dict, summary: Summary) -> None:
    """How close the generated pieces are to the corpus, naming the features that differ most, with values."""
    if "feature_overlap" not in m:
        return
    ceiling = m["feature_overlap_ceiling"]
    gaps = sorted(((ceiling[name] - overlap, name) for name, overlap in m["feature_overlap"].items()), reverse=True)
    differ = [name for gap, name in gaps[:FEATURES_NAMED] if gap > FEATURE_GAP]
    text = (f"The generated pieces are {m['feature_overlap_ratio']:.0%} as close to the corpus's held-out music "
            "as its train split is (histogram overlap of 8 features).")
    if differ:
        text += " They differ most in " + "; ".join(_feature_phrase(m, name) for name in differ) + "."
        advice = ("train", "cooler")
    else:
        text += f" No feature falls more than {FEATURE_GAP} below the train split's overlap."
        advice = ()
    summary.add("findings", text, *advice)


def _feature_phrase(m: dict, name: str) -> str:
    """'polyphony: 8 notes sounding at once in the generated pieces (12 at the 90th percentile), 4 (6) in the
    corpus'; without values, the histograms' overlap."""
    stats = m.get("feature_stats", {})
    words = FEATURE_WORDS.get(name)
    generated, corpus = stats.get("generated", {}).get(name), stats.get("eval", {}).get(name)
    if words is None or not generated or not corpus or generated["median"] is None or corpus["median"] is None:
        return (f"{name.replace('_', ' ')} (histograms overlap {m['feature_overlap'][name]:.0%}, train split "
                f"{m['feature_overlap_ceiling'][name]:.0%})")
    return (f"{name.replace('_', ' ')}: {words.format(_num(generated['median']))} in the generated pieces "
            f"({_num(generated['p90'])} at the 90th percentile), {_num(corpus['median'])} ({_num(corpus['p90'])}) "
            "in the corpus")


def _held_notes(m: dict, summary: Summary) -> None:
    """Notes held for seconds: a note-on whose note-off never came, ended by the export's stuck-note limit."""
    held = m.get("held_note_share") or {}
    generated, corpus = held.get("generated"), held.get("eval")
    if generated is None or corpus is None or generated < HELD_SHARE or generated <= 3 * corpus:
        return
    summary.add("warnings", f"Notes held for seconds: {generated:.1%} of the generated notes last {HELD_NOTE_S:g} s "
                            f"or more, {corpus:.1%} of the corpus's. Measured on the chorales, this comes from short "
                            "training, not from the sampler or the MIDI export: a briefly trained model leaves notes "
                            "on, and fewer after longer training or at a lower temperature (benchmarks/RESULTS.md, "
                            "\"Notes held for seconds\").", "train", "cooler")


def _copying(m: dict, summary: Summary) -> None:
    """Interval n-grams of the generated pieces found in the train split, against held-out music's own share."""
    copying = m.get("copying") or {}
    generated, reference = copying.get("generated"), copying.get("eval (reference)")
    if not generated or generated.get("ngram_share_in_train") is None or not reference:
        return
    share, held_out = generated["ngram_share_in_train"], reference.get("ngram_share_in_train")
    text = (f"{share:.0%} of the generated pieces' 8-note interval n-grams occur in the train split"
            + (f" (held-out music: {held_out:.0%})" if held_out is not None else "")
            + f"; their longest verbatim run is {generated['longest_run_notes_max']} notes.")
    if held_out is not None and share > held_out + COPY_MARGIN:
        summary.add("warnings", f"Copying: {text}", "copy")
    else:
        summary.add("findings", f"No more copying than fresh music shows: {text}")


def _controls(m: dict, summary: Summary) -> None:
    adherence = m.get("control_adherence") or {}
    parts = []
    if "key_hit_rate" in adherence:
        parts.append(f"the asked key was the estimated key in {adherence['key_hit_rate']:.0%} of "
                     f"{adherence['pieces']} pieces")
    if "density_within_25pct" in adherence:
        parts.append(f"{adherence['density_within_25pct']:.0%} of pieces came within 25% of the asked notes per second")
    if parts:
        summary.add("findings", f"Controls: {' and '.join(parts)}.")


# ---------------------------------------------------------------- audio output


def _audio_closeness(m: dict, summary: Summary) -> None:
    """Where the generated audio sits between noise at its loudness (0) and the song's train split (1)."""
    ratios = m.get("audio_ratios")
    if not ratios:
        return
    values = m["audio_figures"]
    lowest = sorted(ratios, key=ratios.get)[:2]
    named = "; ".join(f"{name.replace('_', ' ')} {ratios[name]:.2f} (generated {_num(values['generated'][name])}, "
                      f"train split {_num(values['ceiling'][name])})" for name in lowest)
    below = " (below 0: further from the corpus than that noise)" if ratios[lowest[0]] < 0 else ""
    summary.add("findings", f"On a scale from noise at the generated loudness (0) to the corpus's own train split (1), "
                            f"the generated audio's lowest figures are {named}{below}.")


COLLAPSE_WORDS = {  # per-file metric -> (what it is, what a flagged file does, of what, advice)
    "noise_flat_share": ("Noise, not music", "mostly as flat as noise", "of its sounding frames", ("train", "cooler")),
    "silence_ratio": ("Silence", "mostly silent", "of its frames", ("train",)),
    "full_scale_share": ("Full scale", "mostly at full scale", "of its frames", ("train", "cooler")),
    "loop_ratio": ("Loops", "mostly looping", "of its audio", ("train",)),
}


def _audio_collapse(m: dict, summary: Summary) -> None:
    """Files mostly silent, noise, full scale or looping (each against the eval clips' own share), and clipping
    and copying over the set: one dead file among good ones is named, not averaged away."""
    reference, per_file = m.get("collapse_reference"), m.get("collapse_per_file") or {}
    if reference is None:
        return
    for key, (label, state, unit, advice) in COLLAPSE_WORDS.items():
        flagged = {name: row[key] for name, row in per_file.items()
                   if row.get(key, 0) > COLLAPSE_SHARE and row[key] > reference[key]}
        if flagged:
            worst = max(flagged, key=flagged.get)
            files = f"{len(flagged)} of {len(per_file)} generated file{'s' if len(per_file) != 1 else ''}"
            summary.add("warnings", f"{label}: {files} {'is' if len(flagged) == 1 else 'are'} {state} (`{worst}`: "
                                    f"{flagged[worst]:.0%} {unit}; the eval clips: {reference[key]:.0%}).", *advice)
    if m.get("clipping_ratio", 0) > CLIPPED:
        summary.add("warnings", f"Clipping: {m['clipping_ratio']:.1%} of the generated samples are clipped (the eval "
                                f"clips: {reference['clipping_ratio']:.1%}).", "train")
    if m.get("copy_rate", 0) > reference["copy_rate"] + AUDIO_COPY_MARGIN:
        summary.add("warnings", f"Copying: {m['copy_rate']:.0%} of the generated audio matches the train split (the "
                                f"eval clips: {reference['copy_rate']:.0%}).", "copy")


def _few_files(m: dict, summary: Summary) -> None:
    """Say when the distributions of the generated set rest on too few files to trust (MIDI and audio apart)."""
    counts = {}
    if "feature_overlap" in m:
        counts["feature and copying"] = (m.get("feature_pieces") or {}).get("generated", len(m.get("generated", ())))
    if "collapse_per_file" in m:
        counts["spectral"] = len(m["collapse_per_file"])
    for what, count in counts.items():
        if count < ENOUGH_PIECES:
            summary.add("warnings", f"The {what} statistics rest on {count} generated file{'s' if count != 1 else ''}: "
                                    f"too few to trust ({ENOUGH_PIECES} or more give steadier figures).", "more")
    eval_pieces = (m.get("feature_pieces") or {}).get("eval")
    if eval_pieces is not None and eval_pieces < ENOUGH_PIECES:
        summary.add("warnings", f"The corpus's eval split holds {eval_pieces} symbolic chunks: its feature statistics "
                                "are too few to trust as the reference.")
