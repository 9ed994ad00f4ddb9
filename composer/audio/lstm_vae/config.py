"""An LSTM+VAE preset (configs/lstm_vae/*.yaml): the one place its fields are read and checked."""

from __future__ import annotations

import dataclasses
from typing import Literal

from composer.audio import listening
from composer.audio.transforms import FrameSpec
from composer.config import TrainConfig
from composer.errors import ConfigError, check_range

# The integer fields' bounds: what the network's shapes and the time per step allow.
BOUNDS = {"layers": (1, 3), "units": (8, 4096), "decoder_units": (8, 8192), "latent_dim": (0, 1024),
          "sequence_frames": (2, 100000), "primer_frames": (1, 100000), "kl_warmup_steps": (0, 10**9),
          "augment_semitones": (0, 12)}


@dataclasses.dataclass(frozen=True)
class LstmVaeConfig:
    """Everything that defines an LSTM+VAE run; presets in configs/lstm_vae/."""

    model: str = "lstm-vae"
    seed: int = 0
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    domain: Literal["fft", "dct"] = "dct"
    phase: Literal["keep", "griffin_lim"] = "keep"  # fft only: keep real+imag, or magnitudes + Griffin-Lim
    magnitude: Literal["linear", "log"] = "linear"  # griffin_lim only: model |X| or log |X|
    level_feature: bool = False  # log only: the frame's level as a feature of its own, apart from its shape
    frame_size: int = 2048  # samples at the corpus rate
    hop: int = 1024
    window: Literal["sqrt_hann", "hann"] = "sqrt_hann"
    highpass_hz: float | None = None
    dct_keep: int | None = None  # dct only: keep the lowest K coefficients
    cell: Literal["lstm", "gru"] = "lstm"
    layers: int = 2
    units: int = 256
    latent_dim: int = 32  # 0: the deterministic plain-LSTM baseline
    decoder_units: int = 256
    beta: float = 1.0
    kl_warmup_steps: int = 500
    augment_semitones: int = 0  # train also on the song played 1..K semitones faster and slower
    sequence_frames: int = 64
    primer_frames: int = 16
    sample_seconds: float = 4.0
    temperature: float = 1.0  # generate's default scale of the latent and observation noise (and of samples)
    listen_seconds: float = 4.0  # sample scored against noise and the song at each evaluation; 0: none
    best_by: listening.BestBy = "eval_loss"  # or "audio_ratio"/"audio_min": the best-sounding checkpoint

    def __post_init__(self) -> None:
        if self.model != "lstm-vae":
            raise ConfigError(f"model must be 'lstm-vae', got '{self.model}'")
        for name, (low, high) in BOUNDS.items():
            check_range(name, getattr(self, name), low=low, high=high)
        for name in ("beta", "listen_seconds", "temperature"):
            check_range(name, getattr(self, name), low=0)
        check_range("sample_seconds", self.sample_seconds, low=0, open_low=True)
        if self.best_by != "eval_loss" and not self.listen_seconds:
            raise ConfigError(f"best_by '{self.best_by}' needs listen_seconds > 0")
        if self.highpass_hz is not None:
            check_range("highpass_hz", self.highpass_hz, low=0, open_low=True, note="or null")
        self.spec  # validates

    @property
    def spec(self) -> FrameSpec:
        """The framing and transform this config describes."""
        return FrameSpec(self.frame_size, self.hop, self.window, self.domain, self.phase, self.dct_keep,
                         self.magnitude, self.level_feature)
