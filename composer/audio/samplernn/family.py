"""SampleRNN as a model family of the shared training harness, and its ``generate``.

Training data: each audio chunk of a split is quantized and cut into stretches of
``lookback + subseqs_per_stretch * subseq_len`` samples. A batch of stretches is fed as
``subseqs_per_stretch`` consecutive windows (truncated BPTT); the model carries its RNN state
from one window to the next and restarts from its learned initial state where a batch says
``reset`` (the first window of each stretch).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tensorflow as tf

from composer.audio import listening
from composer.audio import primers as primers_
from composer.audio.output import PEAK_DB, write_generated
from composer.audio.quantize import dequantize, histogram_entropy_bits, quantize, silence_level, unigram_bits_per_sample
from composer.audio.resampled import at_rate
from composer.audio.samplernn.model import SampleRNN
from composer.audio.transforms import load_npz, save_npz
from composer.config import TrainConfig
from composer.errors import ConfigError, CorpusError, RunDirError, check_range
from composer.measures.audio_metrics import reference_clips
from composer.progress import seconds_bar
from composer.seeding import resolve_seed
from composer.train.run import eval_loss, load_run, sample_file

NAME = "samplernn"
PRIMER_MAX_S = 30.0  # a longer primer is cut to its last 30 s: enough to warm the tiers
SONG_PRIMER_S = 2.0  # windows of the corpus stored at training; generate starts from one unless given a primer


@dataclasses.dataclass(frozen=True)
class SampleRNNConfig:
    """A SampleRNN preset (configs/samplernn/*.yaml)."""

    model: str = NAME
    seed: int = 0
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(batch_size=32, clip_norm=1.0))
    frame_sizes: tuple[int, ...] = (16,)   # frame tiers, top first: (16,) 2-tier, (16, 4) 3-tier
    dim: int = 256                         # RNN and conditioning width of every tier
    cell: Literal["gru", "lstm"] = "gru"
    rnn_layers: int = 1
    q_levels: int = 256
    quantization: Literal["linear", "mu-law"] = "mu-law"
    embed_dim: int = 64                    # embedding of each quantized input sample
    mlp_dims: tuple[int, ...] = (256,)     # hidden layers of the sample-tier MLP after its input layer
    weight_norm: bool = True
    sample_rate: int | None = None         # Hz the corpus is read at (resampled); None: the corpus rate
    subseq_len: int = 1024                 # samples per truncated-BPTT window
    subseqs_per_stretch: int = 8           # windows per stretch of audio that carry RNN state
    sample_seconds: float = 2.0            # length of the samples written during training
    listen_seconds: float = 2.0            # sample scored against noise and the song at each evaluation; 0: none
    listen_samples: int = 1                # samples per evaluation, each primed on another stored song window
    listen_skip_seconds: float = 0.0       # the first seconds of each listening sample, left out of its score
    best_by: listening.BestBy = "eval_loss"  # or "audio_ratio"/"audio_min"/"whitened": the best-sounding one

    def __post_init__(self) -> None:
        if self.model != NAME:
            raise ConfigError(f"model must be '{NAME}', got '{self.model}'")
        sizes = self.frame_sizes
        if not sizes or min(sizes) < 1 or any(a % b or a == b for a, b in zip(sizes, sizes[1:])):
            raise ConfigError(f"frame_sizes must be positive, top first, each a multiple of the next, "
                              f"got {list(sizes)}")
        if self.subseq_len % sizes[0]:
            raise ConfigError(f"subseq_len {self.subseq_len} must be a multiple of the top frame size {sizes[0]}")
        for name in ("dim", "rnn_layers", "embed_dim", "subseq_len", "subseqs_per_stretch", "listen_samples"):
            check_range(name, getattr(self, name), low=1)
        check_range("mlp_dims", min(self.mlp_dims, default=1), low=1, note="each")
        check_range("q_levels", self.q_levels, low=2, high=65536)
        if self.sample_rate is not None:
            check_range("sample_rate", self.sample_rate, low=1000, note="or null")
        check_range("sample_seconds", self.sample_seconds, low=0, open_low=True)
        check_range("listen_seconds", self.listen_seconds, low=0)
        check_range("listen_skip_seconds", self.listen_skip_seconds, low=0, high=max(self.listen_seconds, 0.0),
                    open_high=bool(self.listen_seconds), note="(below listen_seconds)")
        if self.best_by != "eval_loss" and not self.listen_seconds:
            raise ConfigError(f"best_by '{self.best_by}' needs listen_seconds > 0")

    @property
    def stretch_len(self) -> int:
        """Samples per stretch: the top frame of look-back, then the windows' targets."""
        return self.frame_sizes[0] + self.subseqs_per_stretch * self.subseq_len


def quantized_split(corpus: Any, config: SampleRNNConfig, split: str) -> list[np.ndarray]:
    """Every audio chunk of ``split``, quantized: [n_samples] each, uint8 for up to 256 levels."""
    dtype = np.uint8 if config.q_levels <= 256 else np.int32
    return [quantize(chunk, levels=config.q_levels, method=config.quantization).astype(dtype)
            for chunk in corpus.audio(split)]


def cut_stretches(chunks: list[np.ndarray], config: SampleRNNConfig) -> np.ndarray:
    """Stretches [n, stretch_len] from each chunk; consecutive ones share the look-back samples."""
    size, hop = config.stretch_len, config.stretch_len - config.frame_sizes[0]
    rows = [chunk[start:start + size] for chunk in chunks for start in range(0, len(chunk) - size + 1, hop)]
    return np.stack(rows) if rows else np.zeros((0, size), np.uint8 if config.q_levels <= 256 else np.int32)


def windows_dataset(stretches: np.ndarray, config: SampleRNNConfig, batches: tf.data.Dataset) -> tf.data.Dataset:
    """From batches of (stretch indices [batch], weights [batch]) to TBPTT windows.

    Each element: {"codes": int32 [batch, lookback + subseq_len], "reset": bool scalar,
    "weight": float32 [batch]}, ``subseqs_per_stretch`` elements per batch of stretches.
    """
    table = tf.constant(stretches)
    look, n, count = config.frame_sizes[0], config.subseq_len, config.subseqs_per_stretch

    def split_windows(index: tf.Tensor, weight: tf.Tensor) -> dict:
        codes = tf.cast(tf.gather(table, index), tf.int32)  # [batch, stretch_len]
        windows = tf.stack([codes[:, i * n:i * n + look + n] for i in range(count)])
        return {"codes": windows, "reset": tf.range(count) == 0, "weight": tf.tile(weight[None], (count, 1))}

    return batches.map(split_windows).unbatch().prefetch(2)


class SampleRNNFamily:
    """The ModelFamily of composer.train.family for SampleRNN."""

    name = NAME
    config_class = SampleRNNConfig
    output = "audio"

    def prepare(self, corpus: Any, config: SampleRNNConfig, run_dir: Path) -> dict:
        """Quantization and rate for sampling, and the unigram baseline of the eval split."""
        corpus = at_rate(corpus, config.sample_rate)
        listening.save_references(corpus, run_dir)
        try:
            windows = primers_.pick_windows(corpus, n_samples=int(SONG_PRIMER_S * corpus.sample_rate), seed=config.seed)
            save_npz(Path(run_dir) / primers_.PRIMERS, audio=windows)
        except CorpusError:
            pass  # every chunk is shorter than a primer: generate starts from silence, as it can
        eval_codes = quantized_split(corpus, config, "eval")
        unigram = (histogram_entropy_bits(np.concatenate(eval_codes), levels=config.q_levels)
                   if eval_codes else None)
        return {"sample_rate": int(corpus.sample_rate), "q_levels": config.q_levels,
                "run_dir": str(Path(run_dir).resolve()),
                "quantization": config.quantization, "eval_unigram_bits": unigram}

    def build_model(self, config: SampleRNNConfig, meta: dict) -> SampleRNN:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:  # each replica would need its own slice of the carried TBPTT state
            raise ConfigError(f"samplernn carries RNN state from batch to batch and trains on one replica, "
                              f"not {replicas}: use --strategy default")
        for key in ("q_levels", "quantization"):
            if meta.get(key) != getattr(config, key):
                raise RunDirError(f"meta.json has {key}={meta.get(key)!r} but the config has "
                                  f"{getattr(config, key)!r} (config and run dir do not match)")
        model = SampleRNN(frame_sizes=config.frame_sizes, dim=config.dim, q_levels=config.q_levels,
                          embed_dim=config.embed_dim, mlp_dims=config.mlp_dims, cell=config.cell,
                          rnn_layers=config.rnn_layers, weight_norm=config.weight_norm,
                          batch_size=config.train.batch_size, silence=silence_level(levels=config.q_levels))
        model(tf.zeros((1, model.lookback + config.frame_sizes[0]), tf.int32))
        return model

    def make_dataset(self, corpus: Any, config: SampleRNNConfig, meta: dict, *, split: str,
                     training: bool) -> tf.data.Dataset:
        stretches = cut_stretches(quantized_split(at_rate(corpus, config.sample_rate), config, split), config)
        if not len(stretches) and training:  # an empty eval set gives no batches; the harness reports that
            raise CorpusError(f"corpus '{getattr(corpus, 'name', corpus)}' has no {split} audio chunk of at least "
                              f"{config.stretch_len} samples (lower subseq_len or subseqs_per_stretch, or add audio)")
        batch, n = config.train.batch_size, len(stretches)
        if training:
            batches = (tf.data.Dataset.range(n).shuffle(n, seed=config.seed).repeat().batch(batch, drop_remainder=True)
                       .map(lambda index: (index, tf.ones((batch,)))))
        else:  # pad the last batch with weight-0 copies so every batch fills the carried state
            padded = -(-n // batch) * batch
            index = np.arange(padded) % n
            weight = (np.arange(padded) < n).astype(np.float32)
            batches = tf.data.Dataset.from_tensor_slices((index, weight)).batch(batch)
        return windows_dataset(stretches, config, batches)

    def compute_loss(self, model: SampleRNN, batch: dict, *, training: bool) -> tf.Tensor:
        """Mean cross-entropy in nats per predicted sample (weight-0 rows left out)."""
        codes = batch["codes"]
        logits = model.forward_carried(codes, batch["reset"], mode="train" if training else "eval")
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=codes[:, model.lookback:], logits=logits)
        weight = tf.cast(batch["weight"], nll.dtype)
        return tf.reduce_sum(tf.reduce_mean(nll, axis=1) * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        """Bits per sample, next to the entropy of the eval data's own value histogram."""
        return {"eval_bits_per_sample": eval_loss * math.log2(math.e),
                "baseline_bits_per_sample": {"unigram": meta.get("eval_unigram_bits")}}

    def write_sample(self, model: SampleRNN, config: SampleRNNConfig, meta: dict, out_dir: Path, *,
                     step: int) -> list[Path]:
        audio = sample_audio(model, meta, seconds=config.sample_seconds, seed=step)
        return write_generated(audio, meta["sample_rate"], sample_file(out_dir, step, ".wav"), warn=False)

    def listen(self, model: SampleRNN, config: SampleRNNConfig, meta: dict, *, step: int,
               eval_loss: float) -> dict[str, float]:
        """Noise-to-song ratios of ``listen_samples`` samples of ``listen_seconds`` (composer.audio.listening),
        each without its first ``listen_skip_seconds``: there the model still continues the primer, and a
        checkpoint that turns to noise after it would be judged on the song's own seconds.

        Every evaluation primes on the same stored song windows, so checkpoints are compared on equal terms.
        """
        if not config.listen_seconds or "run_dir" not in meta:  # runs prepared before listening existed
            return {}
        run_dir = Path(meta["run_dir"])
        primers = run_dir / primers_.PRIMERS
        primer = load_npz(primers)["audio"] if primers.is_file() else None  # as generate starts
        if primer is not None:
            primer = primers_.choose(primer, config.listen_samples, seed=0)
        audio = sample_audio(model, meta, seconds=config.listen_seconds, seed=step, num=config.listen_samples,
                             primer=primer)
        audio = audio[:, int(config.listen_skip_seconds * meta["sample_rate"]):]
        unigram_bits = meta.get("eval_unigram_bits")
        beats = unigram_bits is None or eval_loss * math.log2(math.e) < unigram_bits
        return listening.with_selection(listening.sample_ratios(audio, run_dir, sample_rate=meta["sample_rate"]),
                                        config.best_by, beats_baselines=beats)

    def heldout_likelihood(self, run: Any, corpus: Any) -> dict:
        """Eval bits per sample beside a value histogram fit on the train audio (the unigram) and
        the eval audio's own histogram entropy, which no model of single values beats; all at the
        rate the run was trained at."""
        corpus = at_rate(corpus, run.config.sample_rate)
        sample_rate = corpus.sample_rate
        unigram = unigram_bits_per_sample(
            reference_clips(corpus.audio("train"), sample_rate=sample_rate),
            reference_clips(corpus.audio("eval"), sample_rate=sample_rate),
            levels=run.config.q_levels, method=run.config.quantization)
        baselines = {"unigram": unigram}
        if run.meta.get("eval_unigram_bits") is not None:
            baselines["unigram_eval_entropy"] = run.meta["eval_unigram_bits"]
        return {"eval_bits_per_sample": eval_loss(run, corpus) / math.log(2), "baseline_bits_per_sample": baselines}

    def generate(self, run_dir: Path, *, out: Path, seconds: float = 10.0, temperature: float = 1.0,
                 seed: int | None = None, num: int = 1, primer: Path | None = None,
                 peak_db: float = PEAK_DB) -> list[Path]:
        """Write ``num`` wavs of ``seconds`` of new audio at the corpus rate; see ``generate``."""
        return generate(run_dir, out=out, seconds=seconds, temperature=temperature, seed=seed, num=num, primer=primer,
                        peak_db=peak_db)


FAMILY = SampleRNNFamily()


def sample_audio(model: SampleRNN, meta: dict, *, seconds: float, temperature: float = 1.0, seed: int = 0,
                 num: int = 1, primer: np.ndarray | None = None) -> np.ndarray:
    """Generated float32 audio [num, n_samples] at meta's rate; ``primer`` float audio warms the tiers,
    [n] shared by the batch or [num, n] one per sequence."""
    levels, method = meta["q_levels"], meta["quantization"]
    primer_codes = None if primer is None else quantize(primer, levels=levels, method=method)
    with seconds_bar(seconds) as bar:  # one sample at a time: long pieces take a while
        codes = model.generate(max(1, round(seconds * meta["sample_rate"])), batch_size=num, temperature=temperature,
                               seed=seed, primer=primer_codes,
                               progress=bar and (lambda n_done: bar(n_done / meta["sample_rate"])))
    return dequantize(codes.numpy(), levels=levels, method=method)


def prefer_one_op_thread() -> None:
    """Run each TensorFlow op on one thread, if TensorFlow has not started yet in this process.

    The generation loop's matmuls are small ([batch, dim] x [dim, dim] per sample): handing
    each to a thread pool costs more than it saves (benchmarks/RESULTS.md, SampleRNN generation).
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow is already running here (e.g. right after training): keep its pool


def generate(run_dir: str | Path, *, out: str | Path, seconds: float = 10.0, temperature: float = 1.0,
             seed: int | None = None, num: int = 1, primer: str | Path | None = None,
             peak_db: float = PEAK_DB) -> list[Path]:
    """Sample ``num`` sequences in one batch from the SampleRNN of ``run_dir`` and write them as wavs.

    Args:
      run_dir: a run dir of a samplernn training (best checkpoint used).
      out: the wav path; with num > 1 the files are ``out-1.wav``, ``out-2.wav``, ...
      seconds: length of new audio per file (the primer is not included).
      temperature: softmax temperature (1: the model's distribution, 0: always the likeliest level).
      seed: makes the output reproducible; None draws one.
      primer: an audio file (its last 30 s) that warms the tiers; generation continues from its end.
        None: one of the song windows stored at training (``primers.npz``), if the run has them.
      peak_db: each file is scaled down to peak at most this (dBFS); a collapsed one is named on stderr.
    Returns:
      The wav paths written (16-bit PCM at the corpus sample rate).
    """
    from composer.audio_io import read_audio

    prefer_one_op_thread()
    run = load_run(run_dir, model=NAME)
    sample_rate = run.meta["sample_rate"]
    seed = resolve_seed(seed)
    primer_audio = None
    if primer is not None:
        primer_audio = read_audio(primer, sample_rate=sample_rate)[0][-int(PRIMER_MAX_S * sample_rate):]
    elif (Path(run_dir) / primers_.PRIMERS).is_file():  # runs trained before song primers start from silence
        primer_audio = primers_.choose(load_npz(Path(run_dir) / primers_.PRIMERS)["audio"], 1, seed)[0]
    audio = sample_audio(run.model, run.meta, seconds=seconds, temperature=temperature, seed=seed, num=num,
                         primer=primer_audio)
    return write_generated(audio, sample_rate, Path(out), peak_db=peak_db)
