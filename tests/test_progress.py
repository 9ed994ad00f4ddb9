"""Long generation reports its progress (issue 17 item 3): the loops call back, the bar shows.

SampleRNN's call-back is checked in tests/audio/samplernn/test_model.py, where its generator is compiled anyway.
"""

from __future__ import annotations

import numpy as np

from composer.progress import LONG_S, seconds_bar


def test_bar_only_for_long_pieces():
    with seconds_bar(LONG_S - 1) as short:
        assert short is None
    with seconds_bar(LONG_S) as long:
        long(LONG_S / 2)  # a function of the seconds done


def test_performance_rnn_reports_seconds_done():
    from composer.symbolic.encoding import PerformanceEncoding
    from composer.symbolic.performance_rnn.model import PerformanceRNN
    from composer.symbolic.sampler import sample_events

    encoding = PerformanceEncoding()
    model = PerformanceRNN(encoding.num_classes, layer_sizes=(16,))
    model({"events": np.zeros((1, 2), np.int32)})
    done: list[float] = []
    sample_events(model, encoding, seconds=3.0, seed=0, engine="tf", progress=done.append)
    assert done and done == sorted(done) and done[-1] >= 3.0
