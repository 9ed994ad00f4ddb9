"""The summary a report opens with, sentence by sentence, on crafted metrics dicts (the demo's figures)."""

from __future__ import annotations

import copy

import pytest

from composer.evaluate.markdown import render_report
from composer.evaluate.summary import next_steps, summarize

FEATURES = ("pitch_class", "pitch_range", "pitch_count", "note_density", "inter_onset_interval", "note_duration",
            "velocity", "polyphony")


def stats(**medians_p90):
    """feature_stats of one set: every feature at (1, 2) unless given."""
    return {name: dict(zip(("median", "p90"), medians_p90.get(name, (1.0, 2.0)))) for name in FEATURES[1:]}


DEMO = {  # the figures of the demo's tiny Performance RNN report (two generated files)
    "corpus": "bach-chorales", "model": "performance-rnn", "run_dir": "out/demo/runs/performance-rnn",
    "generated": ["piano.mid", "strings.mid"], "plots": {},
    "eval_nll_per_event": 1.4515, "baseline_nll_per_event": {"unigram": 4.2776, "ngram": 1.7916}, "ngram_order": 10,
    "ngram_nll_by_order": {"3": 2.606, "10": 1.7916}, "gain_over_best_baseline_nats": 0.34,
    "nll_by_position": {"model": {"0-128": 1.382, "128-512": 1.605, "512-1024": 1.794, "1024-2048": 2.059},
                        "Kneser-Ney 10-gram": {"0-128": 1.912, "128-512": 1.615, "512-1024": 1.144,
                                               "1024-2048": 1.371}},
    "nll_change_by_position": {"model": {"128-512": 0.080, "512-1024": 0.207, "1024-2048": 0.057},
                               "Kneser-Ney 10-gram": {"128-512": -0.239, "512-1024": -0.041, "1024-2048": 0.715}},
    "eval_windows_by_position": {"0-128": 368, "128-512": 24, "512-1024": 6, "1024-2048": 2},
    "train_window_events": 128,
    "feature_overlap": dict(zip(FEATURES, (0.75, 0.45, 0.05, 0.52, 0.84, 0.77, 1.0, 0.25))),
    "feature_overlap_ceiling": dict(zip(FEATURES, (0.98, 0.64, 0.32, 0.89, 0.95, 0.89, 1.0, 0.90))),
    "feature_kl": dict.fromkeys(FEATURES, 0.1), "feature_kl_ceiling": dict.fromkeys(FEATURES, 0.01),
    "feature_overlap_ratio": 0.708,
    "feature_stats": {"generated": stats(polyphony=(8.0, 12.0), pitch_count=(25.5, 27.0), note_density=(3.3, 3.7)),
                      "eval": stats(polyphony=(4.0, 6.0), pitch_count=(15.0, 20.0), note_density=(3.18, 4.14)),
                      "train": stats(polyphony=(4.0, 6.0))},
    "held_note_share": {"generated": 0.077, "eval": 0.0, "train": 0.0001},
    "feature_pieces": {"generated": 2, "eval": 368, "train": 741},
    "copying": {"generated": {"ngram_share_in_train": 0.0118, "longest_run_notes_mean": 8.5,
                              "longest_run_notes_max": 9, "pieces": 2},
                "eval (reference)": {"ngram_share_in_train": 0.4594, "longest_run_notes_mean": 17.18,
                                     "longest_run_notes_max": 652, "pieces": 368,
                                     "longest_run_piece": "bwv248.64-6.mxl", "longest_run_same_piece": True}},
    "control_adherence": {"key_hit_rate": 1.0, "pieces": 12, "key_correlation": 0.85, "density_within_25pct": 1.0,
                          "density_ratio": {"6.33": 0.99}},
}


def test_the_demo_report_opens_with_what_a_composer_needs():
    summary = summarize(DEMO)
    assert summary.findings == [
        "The model scores 1.452 nats per event on the held-out music (lower is better): 19% below the best n-gram's "
        "1.792 (a Kneser-Ney 10-gram) and 66% below the unigram's 4.278.",
        "The model gets worse further into a piece: on the 24 eval windows that reach events 128-512, the model "
        "predicts those events 0.080 nats per event worse than the same windows' opening events, the Kneser-Ney "
        "10-gram 0.239 nats per event better. It loses track of the piece past its first events (it was trained on "
        "windows of 128 events).",
        "The table below goes from 1.382 nats per event on events 0-128 to 1.605 on events 128-512 partly because "
        "only the longer pieces reach the later bands, and their opening events are harder to predict than most.",
        "Events 512-1024 and 1024-2048 are reached by only 6 and 2 eval windows: too few to read.",
        "The generated pieces are 71% as close to the corpus's held-out music as its train split is (histogram "
        "overlap of 8 features). They differ most in polyphony: 8 notes sounding at once in the generated pieces "
        "(12 at the 90th percentile), 4 (6) in the corpus; note density: 3.3 note onsets per second in the generated "
        "pieces (3.7 at the 90th percentile), 3.18 (4.14) in the corpus; pitch count: 25.5 distinct pitches per 10 s "
        "in the generated pieces (27 at the 90th percentile), 15 (20) in the corpus.",
        "No more copying than fresh music shows: 1% of the generated pieces' 8-note interval n-grams occur in the "
        "train split (held-out music: 46%); their longest verbatim run is 9 notes.",
        "Controls: the asked key was the estimated key in 100% of 12 pieces and 100% of pieces came within 25% of "
        "the asked notes per second.",
    ]
    assert summary.warnings[0].startswith("Notes held for seconds: 7.7% of the generated notes last 4 s or more, "
                                          "0.0% of the corpus's. Measured on the chorales, this comes from short "
                                          "training, not from the sampler or the MIDI export")
    assert summary.warnings[1] == ("The feature and copying statistics rest on 2 generated files: too few to trust "
                                   "(10 or more give steadier figures).")
    steps = next_steps(summary, DEMO)
    assert [step.split(":")[0] for step in steps] == ["Train longer", "Sample at a lower temperature (`composer "
                                                      "generate out/demo/runs/performance-rnn --temperature 0.7`)",
                                                      "Measure 10 or more generated files"]


def test_the_report_opens_with_the_summary_then_the_tables():
    text = render_report(DEMO)
    assert text.index("## Summary") < text.index("**Warnings**") < text.index("**What to do next**") < text.index(
        "## Held-out likelihood")
    assert "- Notes held for seconds: 7.7%" in text
    assert "gets better further in" not in text  # issue 28: the old text said so beside figures that rise
    assert ("The eval split's longest run (652 notes, in `bwv248.64-6.mxl`) recurs in a train chunk of the same "
            "piece: a section the piece repeats") in text


def good_model() -> dict:
    """The demo's dict for a model that uses context, sounds like the corpus and was measured on 10 files."""
    m = copy.deepcopy(DEMO)
    m["generated"] = [f"piece-{i}.mid" for i in range(10)]
    m["feature_pieces"]["generated"] = 10
    m["nll_change_by_position"]["model"]["128-512"] = -0.4
    m["nll_by_position"]["model"]["128-512"] = 1.2
    m["feature_overlap"] = dict(m["feature_overlap_ceiling"])
    m["feature_overlap_ratio"] = 1.0
    m["held_note_share"]["generated"] = 0.001
    return m


def test_a_good_run_gets_no_warnings_and_no_advice():
    m = good_model()
    summary = summarize(m)
    assert summary.warnings == [] and next_steps(summary, m) == []
    assert summary.findings[1].startswith("The model gains more than the n-gram further into a piece: on the 24 eval "
                                          "windows that reach events 128-512, the model predicts those events 0.400 "
                                          "nats per event better")
    assert [text for text in summary.findings if text.startswith("The generated pieces")] == [
        "The generated pieces are 100% as close to the corpus's held-out music as its train split is (histogram "
        "overlap of 8 features). No feature falls more than 0.15 below the train split's overlap."]
    assert "- Nothing here calls for a change" in render_report(m)


@pytest.mark.parametrize("change, ngram, start", [
    (0.01, 0.02, "Further into a piece the model keeps pace with the n-gram"),
    (0.0, -0.239, "Further into a piece the model gains less than the n-gram"),
])
def test_the_position_verdict_is_read_against_the_n_gram(change, ngram, start):
    m = good_model()
    m["nll_change_by_position"]["model"]["128-512"] = change
    m["nll_change_by_position"]["Kneser-Ney 10-gram"]["128-512"] = ngram
    assert summarize(m).findings[1].startswith(start)


def test_copying_and_a_model_behind_the_n_gram_are_warnings():
    m = good_model()
    m["copying"]["generated"].update(ngram_share_in_train=0.8, longest_run_notes_max=120)
    m["eval_nll_per_event"] = 1.9
    summary = summarize(m)
    assert summary.warnings == [
        "The model does not beat the n-gram yet: it predicts no better than counting the last few events.",
        "Copying: 80% of the generated pieces' 8-note interval n-grams occur in the train split (held-out music: "
        "46%); their longest verbatim run is 120 notes."]
    assert summary.findings[0].endswith("6% above the best n-gram's 1.792 (a Kneser-Ney 10-gram) and 56% below the "
                                        "unigram's 4.278.")
    assert [step.split(":")[0] for step in next_steps(summary, m)] == ["Train longer", "To copy less"]


def test_a_bare_corpus_gets_its_baselines():
    m = {"corpus": "c", "model": None, "run_dir": None, "generated": [], "plots": {},
         "baseline_nll_per_event": {"unigram": 4.28, "ngram": 1.79}}
    assert summarize(m).findings == ["No model was scored: on the eval split the best n-gram scores 1.790 nats per "
                                     "event and the unigram 4.280; a model worth keeping lands below the n-gram."]


AUDIO = {  # the demo's SampleRNN report: one 8 s file, mostly silent, the rest noise
    "corpus": "bach-chorales-audio", "model": "samplernn", "run_dir": "runs/srnn", "generated": ["samplernn.wav"],
    "plots": {}, "eval_bits_per_sample": 3.5896, "baseline_bits_per_sample": {"unigram": 6.2283},
    "full_scale_share": 0.0, "noise_flat_share": 0.909, "silence_ratio": 0.956, "clipping_ratio": 0.0,
    "loop_ratio": 0.0, "copy_rate": 0.0, "level_spread_db": 1.9,
    "collapse_per_file": {"samplernn.wav": {"full_scale_share": 0.0, "noise_flat_share": 0.909, "silence_ratio": 0.956,
                                            "clipping_ratio": 0.0, "loop_ratio": 0.0, "copy_rate": 0.0}},
    "collapse_reference": {"full_scale_share": 0.0, "noise_flat_share": 0.0016, "silence_ratio": 0.024,
                           "clipping_ratio": 0.0, "loop_ratio": 0.008, "copy_rate": 0.268, "level_spread_db": 2.7},
    "spectral_overlap": {"centroid": 0.02}, "spectral_overlap_ceiling": {"centroid": 0.94},
    "audio_ratios": {"whitened_flatness": 5.4, "whitened_coherence": -0.19, "chroma_clarity": 0.16},
    "audio_figures": {"generated": {"whitened_flatness": 0.589, "whitened_coherence": -0.0975, "chroma_clarity": 0.031},
                      "ceiling": {"whitened_flatness": 0.1085, "whitened_coherence": 0.515, "chroma_clarity": 0.196}},
}


def test_audio_gets_its_baseline_its_place_between_noise_and_song_and_its_collapse():
    summary = summarize(AUDIO)
    assert summary.findings == [
        "The model scores 3.590 bits per sample on the held-out audio (lower is better): 42% below the unigram's "
        "6.228.",
        "On a scale from noise at the generated loudness (0) to the corpus's own train split (1), the generated "
        "audio's lowest figures are whitened coherence -0.19 (generated -0.0975, train split 0.515); chroma clarity "
        "0.16 (generated 0.031, train split 0.196) (below 0: further from the corpus than that noise)."]
    assert summary.warnings == [
        "Noise, not music: 1 of 1 generated file is mostly as flat as noise (`samplernn.wav`: 91% of its sounding "
        "frames; the eval clips: 0%).",
        "Silence: 1 of 1 generated file is mostly silent (`samplernn.wav`: 96% of its frames; the eval clips: 2%).",
        "The spectral statistics rest on 1 generated file: too few to trust (10 or more give steadier figures)."]
    assert [step.split(":")[0] for step in next_steps(summary, AUDIO)] == [
        "Train longer", "Sample at a lower temperature (`composer generate runs/srnn --temperature 0.7`)",
        "Measure 10 or more generated files"]


def test_lstm_vae_baselines_read_as_words_and_copying_audio_is_flagged():
    m = {**AUDIO, "model": "lstm-vae", "eval_loss": 95.57,
         "baseline_eval_loss": {"repeat_last_frame": 229.77, "mean_frame": 119.17}, "copy_rate": 0.6,
         "collapse_per_file": {"a.wav": {"noise_flat_share": 0.0, "silence_ratio": 0.0, "loop_ratio": 0.7},
                               "b.wav": {"noise_flat_share": 0.1, "silence_ratio": 0.0, "loop_ratio": 0.9},
                               "c.wav": {"noise_flat_share": 0.0, "silence_ratio": 0.0, "loop_ratio": 0.0}}}
    del m["eval_bits_per_sample"]
    summary = summarize(m)
    assert summary.findings[0] == ("The model's held-out loss is 95.6 nats per frame (lower is better): 58% below "
                                   "repeating the last frame's 229.8 and 20% below the mean frame's 119.2.")
    assert summary.warnings[:2] == [
        "Loops: 2 of 3 generated files are mostly looping (`b.wav`: 90% of its audio; the eval clips: 1%).",
        "Copying: 60% of the generated audio matches the train split (the eval clips: 27%)."]


def test_a_small_eval_split_is_named_as_a_weak_reference():
    m = good_model()
    m["feature_pieces"]["eval"] = 4
    assert summarize(m).warnings == ["The corpus's eval split holds 4 symbolic chunks: its feature statistics are too "
                                     "few to trust as the reference."]
