"""The Music Transformer: relative attention against a per-pair reference, the cached step, causality."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from composer.symbolic.music_transformer.attention import RelativeSelfAttention, skew
from composer.symbolic.music_transformer.model import MusicTransformer


def _naive_attention(layer: RelativeSelfAttention, x: np.ndarray) -> np.ndarray:
    """Shaw et al.'s definition, one (query, key) pair at a time: no skewing, no batched masks."""
    qkv = x @ layer.qkv.kernel.numpy()                                   # (B, T, 3 H D_h)
    heads, dim, span = layer.heads, layer.key_dim, layer.span
    q, k, v = qkv.reshape(*x.shape[:2], 3, heads, dim).transpose(2, 0, 1, 3, 4)  # (B, T, H, D_h) each
    relative = layer.relative.numpy()                                     # (H, span, D_h)
    out = np.zeros((*x.shape[:2], heads, dim))
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            for h in range(heads):
                keys = [j for j in range(i + 1) if i - j < span]
                logits = np.array([q[b, i, h] @ (k[b, j, h] + relative[h, i - j]) for j in keys]) / math.sqrt(dim)
                weights = np.exp(logits - logits.max())
                out[b, i, h] = (weights / weights.sum()) @ v[b, keys, h]
    return out.reshape(*x.shape[:2], heads * dim) @ layer.out.kernel.numpy() + layer.out.bias.numpy()


@pytest.mark.parametrize("length, span", [(7, 16), (11, 4)])
def test_relative_attention_matches_per_pair_reference(length, span):
    layer = RelativeSelfAttention(12, 3, 4, span)
    x = np.random.default_rng(0).normal(size=(2, length, 12)).astype(np.float32)
    layer(x)
    layer.relative.assign(np.random.default_rng(1).normal(size=layer.relative.shape))  # not the small init
    np.testing.assert_allclose(layer(x).numpy(), _naive_attention(layer, x.astype(np.float64)), atol=1e-5)


def test_skew_puts_each_distance_in_place():
    length = 5
    by_distance_column = np.tile(np.arange(length - 1, -1, -1, dtype=np.float32), (length, 1))  # column j: T-1-j
    skewed = skew(tf.constant(by_distance_column[None, None]))[0, 0].numpy()
    rows, cols = np.tril_indices(length)
    np.testing.assert_array_equal(skewed[rows, cols], rows - cols)


def _model(control_dim: int = 0, span: int = 6) -> MusicTransformer:
    return MusicTransformer(30, layers=2, width=16, heads=2, ff_dim=24, span=span, control_dim=control_dim)


@pytest.mark.parametrize("control_dim", [0, 5])
def test_cached_step_equals_full_forward_pass_past_the_span(control_dim):
    model, rng = _model(control_dim), np.random.default_rng(2)
    events = tf.constant(rng.integers(0, 30, (3, 15)), tf.int32)  # 15 events: the ring buffer of 6 wraps twice
    inputs = {"events": events}
    if control_dim:
        inputs["controls"] = tf.constant(rng.random((3, 15, control_dim)), tf.float32)
    full = model(inputs).numpy()
    state, stepped = model.initial_state(3), []
    for t in range(15):
        logits, state = model.step(events[:, t], inputs["controls"][:, t] if control_dim else None, state)
        stepped.append(logits.numpy())
    np.testing.assert_allclose(np.stack(stepped, axis=1), full, atol=1e-5)


def test_a_future_event_changes_no_earlier_logit():
    model = _model(span=64)
    events = np.random.default_rng(3).integers(0, 30, (1, 20))
    changed = events.copy()
    changed[0, 12] = (changed[0, 12] + 1) % 30
    before, after = (model({"events": tf.constant(e, tf.int32)}).numpy() for e in (events, changed))
    np.testing.assert_array_equal(before[:, :12], after[:, :12])
    assert np.abs(before[:, 12:] - after[:, 12:]).max() > 1e-4  # and it does change the logits from there on


@pytest.mark.parametrize("beam, top_p", [(None, 0.9), (3, None)])
def test_the_shared_sampler_drives_the_cached_step(beam, top_p):
    from composer.symbolic.encoding import PerformanceEncoding
    from composer.symbolic.sampler import sample_events

    encoding = PerformanceEncoding()
    model = MusicTransformer(encoding.num_classes, layers=1, width=16, heads=2, ff_dim=16, span=8, control_dim=3)
    model({"events": tf.zeros([1, 2], tf.int32), "controls": tf.zeros([1, 2, 3])})   # built, as build_model does
    primer = np.array([60, 300, 188, 300], np.int32)                   # note-on, shift, note-off, shift
    controls = np.eye(3, dtype=np.float32)[:2]
    pieces = sample_events(model, encoding, num=2, seconds=0.5, seed=5, primer=primer, controls=controls,
                           top_p=top_p, beam=beam)
    again = sample_events(model, encoding, num=2, seconds=0.5, seed=5, primer=primer, controls=controls,
                          top_p=top_p, beam=beam)
    for piece, same in zip(pieces, again):
        np.testing.assert_array_equal(piece[:4], primer)
        np.testing.assert_array_equal(piece, same)                         # seeded: the same piece
        assert len(piece) > len(primer) and piece.max() < encoding.num_classes
