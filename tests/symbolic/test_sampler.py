"""The one sampling loop on both engines: valid pieces, primers, beam search, seeds, guidance."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from composer.errors import ConfigError
from composer.symbolic.controls import event_steps, user_controls
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding
from composer.symbolic.performance_rnn.family import PerformanceRNNConfig
from composer.symbolic.performance_rnn.lite import PerformanceStep, export_step
from composer.symbolic.performance_rnn.model import PerformanceRNN
from composer.symbolic.sampler import sample_events
from composer.symbolic.sampling import _unguided

ENGINES = ["tf", "tflite"]
ENCODING = PerformanceEncoding()
PRIMER = np.array([ENCODING.velocity_offset + 10, 60, ENCODING.shift_offset + 20, 60 + 128], np.int32)
CONTROLS = ("pitch_histogram",)


def _model(control_dim: int = 0) -> PerformanceRNN:
    keras.utils.set_random_seed(0)  # temperature 0 is the argmax: fixed weights, no near-ties by chance
    model = PerformanceRNN(388, layer_sizes=(32, 48), control_dim=control_dim)
    inputs = {"events": tf.zeros([1, 2], tf.int32)}
    if control_dim:
        inputs["controls"] = tf.zeros([1, 2, control_dim])
    model(inputs)
    for variable in model.trainable_variables:  # peaked distributions: int8 rounding and beam search matter
        variable.assign(variable * 4.0)
    return model


def _log_likelihood(model: PerformanceRNN, piece: np.ndarray, start: int) -> float:
    """Sum of log p(event) of piece[start:] under the float model, teacher-forced."""
    logits = model({"events": tf.constant(piece[None, :-1])})[0]
    logp = tf.nn.log_softmax(logits).numpy()
    return float(logp[np.arange(len(piece) - 1), piece[1:]][start - 1:].sum())


@pytest.mark.parametrize("quantize, tolerance", [(False, 1e-5), (True, 0.05)])
def test_exported_step_computes_the_models_step(quantize, tolerance):
    """The int8 engine's step against the model's own; three steps, so the carried state counts too."""
    model = _model(control_dim=13)
    step = PerformanceStep(export_step(model, quantize=quantize))
    events = np.array([1, 200, 380], np.int32)
    controls = np.random.default_rng(0).random((3, 13)).astype(np.float32)
    states, expected_states = step.initial_state(3), model.initial_state(3)
    for _ in range(3):
        logits, states = step.step(events, controls, states)
        expected, expected_states = model.step(tf.constant(events), tf.constant(controls), expected_states)
        assert logits.shape == (3, 388)
        assert np.abs(logits - expected.numpy()).max() <= tolerance * np.abs(expected.numpy()).max()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("beam", [None, 3])
def test_pieces_are_valid_primed_and_run_their_seconds(engine, beam):
    model = _model()
    pieces = sample_events(model, ENCODING, num=2, seconds=1.5, seed=3, primer=PRIMER, beam=beam, engine=engine)
    for piece in pieces:
        assert piece.dtype == np.int32 and 0 <= piece.min() and piece.max() < ENCODING.num_classes
        np.testing.assert_array_equal(piece[:len(PRIMER)], PRIMER)  # fed, not drawn
        new_steps = event_steps(piece, ENCODING)[1] - event_steps(PRIMER, ENCODING)[1]
        assert len(piece) > len(PRIMER) and new_steps >= 1.5 * STEPS_PER_SECOND  # stops once past `seconds`


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("beam", [None, 2])
def test_each_piece_opens_with_its_own_event_and_continues_from_it(engine, beam):
    model = _model()
    loud, soft = ENCODING.velocity_offset + 28, ENCODING.velocity_offset + 10
    pieces = sample_events(model, ENCODING, num=3, seconds=1.0, temperature=0.0, seed=0, primer=PRIMER,
                           openings=np.array([soft, soft, loud]), beam=beam, engine=engine)
    assert [p[0] for p in pieces] == [soft, soft, loud]
    for piece in pieces:
        np.testing.assert_array_equal(piece[1:len(PRIMER)], PRIMER[1:])
    assert list(pieces[0]) == list(pieces[1]) and list(pieces[2][1:]) != list(pieces[0][1:])  # the model heard it
    with pytest.raises(ConfigError, match=r"openings must hold one event per piece \(3\)"):
        sample_events(model, ENCODING, num=3, seconds=1.0, primer=PRIMER, openings=np.array([soft]), engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_beam_search_finds_likelier_pieces_than_plain_sampling(engine):
    model = _model()
    model.logits.kernel.assign(model.logits.kernel * 10.0)  # peaked: the events' likelihood outweighs their number
    options = {"num": 3, "seconds": 1.0, "seed": 2, "primer": PRIMER, "engine": engine}
    plain, beam = sample_events(model, ENCODING, **options), sample_events(model, ENCODING, beam=4, **options)
    for ours, theirs in zip(beam, plain):
        assert _log_likelihood(model, ours, len(PRIMER)) >= _log_likelihood(model, theirs, len(PRIMER))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("options", [{}, {"beam": 2, "top_p": 0.9}, {"temperature": 0.8}])
def test_same_seed_same_pieces_and_rows_differ(engine, options):
    model = _model()
    first, second, other = (sample_events(model, ENCODING, num=3, seconds=1.0, seed=seed, engine=engine, **options)
                            for seed in (4, 4, 5))
    assert [list(p) for p in first] == [list(p) for p in second]
    assert [list(p) for p in first] != [list(p) for p in other]
    assert len({tuple(p) for p in first}) == 3


def test_greedy_pieces_agree_on_both_engines():
    """At temperature 0 both engines follow the argmax: with a float32 export, the same events."""
    model = _model()
    exact = PerformanceStep(export_step(model, quantize=False))
    expected = sample_events(model, ENCODING, num=2, seconds=1.5, temperature=0.0, seed=0, primer=PRIMER)
    pieces = sample_events(model, ENCODING, num=2, seconds=1.5, temperature=0.0, seed=1, primer=PRIMER, engine=exact)
    assert [list(p) for p in pieces] == [list(p) for p in expected]


@pytest.mark.parametrize("engine", ENGINES)
def test_guidance_one_is_no_guidance_and_more_moves_the_pieces(engine):
    model = _model(control_dim=13)
    controls = user_controls(CONTROLS, histograms=[np.eye(12)[2] + np.eye(12)[9]])
    unconditional = user_controls(CONTROLS)[0]
    options = {"num": 2, "seconds": 1.0, "seed": 6, "controls": controls, "engine": engine}
    plain = sample_events(model, ENCODING, **options)
    one = sample_events(model, ENCODING, guidance=1.0, unconditional=unconditional, **options)
    three = sample_events(model, ENCODING, guidance=3.0, unconditional=unconditional, **options)
    beam = sample_events(model, ENCODING, guidance=3.0, unconditional=unconditional, beam=2, **options)
    assert [list(p) for p in one] == [list(p) for p in plain]
    assert [list(p) for p in three] != [list(p) for p in plain]
    assert all(len(p) > 1 for p in three + beam)
    with pytest.raises(ConfigError, match="guidance needs the unguided control rows to push away from"):
        sample_events(model, ENCODING, guidance=3.0, **options)


@pytest.mark.parametrize("fields, trained", [({}, "none, control_dropout 0"),
                                             ({"controls": CONTROLS}, "pitch_histogram, control_dropout 0")])
def test_guidance_is_refused_without_an_unconditional_model(tmp_path, fields, trained):
    config = PerformanceRNNConfig(model="performance-rnn", **fields)
    with pytest.raises(ConfigError) as refused:
        _unguided(config, tmp_path, None, pitches_asked=False)
    assert str(refused.value) == (f"--guidance needs a model trained with controls and control_dropout > 0; "
                                  f"{tmp_path} was trained with controls: {trained}")
    assert _unguided(PerformanceRNNConfig(model="performance-rnn", controls=CONTROLS, control_dropout=0.5),
                     tmp_path, None, pitches_asked=False).tolist() == [0.0] * 12 + [1.0]


def test_guidance_pushes_the_key_alone_and_keeps_the_asked_density(tmp_path):
    both = ("density", "pitch_histogram")
    config = PerformanceRNNConfig(model="performance-rnn", controls=both, control_dropout=0.5)
    asked = user_controls(both, density=[3.0, 9.0], histograms=[np.eye(12)[2]])
    unguided = _unguided(config, tmp_path, asked, pitches_asked=True)
    np.testing.assert_array_equal(unguided, user_controls(both, density=[3.0, 9.0]))  # density kept, key hidden
    assert _unguided(config, tmp_path, asked, pitches_asked=False).tolist() == user_controls(both)[0].tolist()


class Sluggish:
    """A scripted model that under-plays its density control: per event a note-on (pitch 60) with the
    chance that makes 0.6 x the asked notes/s, else a 10 ms time shift (100 shifts a second)."""

    names = ("density",)

    def __init__(self) -> None:
        from composer.symbolic.controls import control_dim

        self.control_dim = control_dim(self.names)

    def initial_state(self, batch: int) -> tf.Tensor:
        return tf.zeros([batch, 1])

    def step(self, events, controls, state):
        from composer.symbolic.controls import DENSITY_CENTERS

        code = tf.convert_to_tensor(controls, tf.float32)[:, :len(DENSITY_CENTERS)]
        rate = 0.6 * 2.0 ** tf.reduce_sum(code * np.log2(DENSITY_CENTERS).astype(np.float32), axis=1)
        note = rate / (rate + 100.0)
        logits = tf.fill([tf.shape(code)[0], ENCODING.num_classes], -1e9)
        at = tf.constant([60, ENCODING.shift_offset])
        rows = tf.repeat(tf.range(tf.shape(code)[0]), 2)
        values = tf.reshape(tf.stack([tf.math.log(note), tf.math.log(1 - note)], 1), [-1])
        indices = tf.stack([rows, tf.tile(at, [tf.shape(code)[0]])], 1)
        return tf.tensor_scatter_nd_update(logits, indices, values), state


class NumpySluggish(Sluggish):
    """The same model as an event-by-event numpy engine (the int8 engine's interface)."""

    def step(self, events, controls, state):
        logits, state = super().step(events, controls, state)
        return logits.numpy(), state

    def reorder(self, state, rows):
        return state


def _notes_per_second(piece: np.ndarray, seconds: float, start: int = 0, end: int | None = None) -> float:
    steps = np.cumsum(np.where(piece >= ENCODING.shift_offset, piece - ENCODING.shift_offset + 1, 0))
    inside = (steps >= start * STEPS_PER_SECOND) & (steps < (end or seconds) * STEPS_PER_SECOND)
    return float(np.sum((piece < 128) & inside)) / ((end or seconds) - start)


@pytest.mark.parametrize("engine", ["numpy", "tf"])
def test_density_feedback_holds_the_asked_density_of_a_model_that_under_plays_it(engine):
    from composer.symbolic.controls import density_ladder, user_controls

    model = NumpySluggish() if engine == "numpy" else Sluggish()
    rows = user_controls(model.names, density=[8.0])
    options = {"num": 4, "seconds": 20.0, "seed": 0, "engine": model if engine == "numpy" else "tf"}
    open_loop = sample_events(model, ENCODING, controls=rows, **options)
    held = sample_events(model, ENCODING, controls=density_ladder(rows, model.names), density=[8.0], **options)
    assert 0.5 < np.mean([_notes_per_second(p, 20.0) for p in open_loop]) / 8.0 < 0.7
    assert all(abs(_notes_per_second(p, 20.0) / 8.0 - 1) < 0.1 for p in held)


def test_density_feedback_follows_a_changing_density():
    from composer.symbolic.controls import density_ladder, user_controls

    model = Sluggish()
    rows = user_controls(model.names, density=[4.0, 16.0])
    (piece,) = sample_events(model, ENCODING, seconds=20.0, seed=0, controls=density_ladder(rows, model.names),
                             density=[4.0, 16.0])
    assert abs(_notes_per_second(piece, 20.0, 2, 10) / 4.0 - 1) < 0.15
    assert abs(_notes_per_second(piece, 20.0, 14, 20) / 16.0 - 1) < 0.15


def test_density_feedback_needs_a_ladder():
    from composer.symbolic.controls import user_controls

    model = Sluggish()
    with pytest.raises(ConfigError, match=r"^density feedback needs a density ladder of control rows"):
        sample_events(model, ENCODING, controls=user_controls(model.names, density=[8.0]), density=[8.0])
