"""What the page may send, with the bounds that keep a request sane.

Pydantic checks every field's type and the page's own bounds (mix gains, pans, fades) before any
work starts; the server turns its complaints into one line the page shows (``tracks.0.pan: Input
should be less than or equal to 1 (got 3)``). The generation options (length, temperature, number
of takes, top-p, density, seed) have one range each, the one ``composer generate`` declares for the
run's family, and are checked against it (``takes.start_checks``, ``radio``), so the page and the
CLI refuse the same values with the same words.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from composer.options import MAX_NUM


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(Strict):
    """The Generate tab's form; key and density only for runs trained with those controls."""

    run: str = Field(min_length=1)
    seconds: float = 10.0  # the options' ranges are the family's: takes.start_checks
    temperature: float = 1.0
    top_p: float | None = None
    num: int = 4
    seed: int | None = None
    key: str | None = Field(None, max_length=20)
    density: float | None = None
    primer: str | None = Field(None, max_length=80)  # an id returned by POST /api/primers


class KeepRequest(Strict):
    job: str = Field(min_length=1, max_length=80)
    take: int = Field(ge=1, le=MAX_NUM)


class Track(Strict):
    """One kept stem on a mix track (names as in the mix spec, see composer/render/mixspec.py)."""

    source: str = Field(min_length=1, max_length=200)  # a file name in the session's kept/ folder
    gain_db: float = Field(0.0, ge=-60, le=20)
    pan: float = Field(0.0, ge=-1, le=1)
    start: float = Field(0.0, ge=0, le=3600)
    fade_in: float = Field(0.0, ge=0, le=600)
    fade_out: float = Field(0.0, ge=0, le=600)
    lufs: float | None = Field(None, ge=-70, le=0)


class MixRequest(Strict):
    name: str = Field("mix", min_length=1, max_length=80)
    tracks: list[Track] = Field(min_length=1, max_length=32)
    target_lufs: float | None = Field(-14.0, ge=-70, le=0)
    length: float | None = Field(None, gt=0, le=3600)


class RadioControls(Strict):
    """Take effect at the next segment; a field left out keeps its value, "" (key) or 0 (density) clears it."""

    run: str | None = Field(None, min_length=1)
    temperature: float | None = None  # ranges: the run's family's (radio._check)
    key: str | None = Field(None, max_length=20)
    density: float | None = None
    texture: str | None = Field(None, max_length=200)  # an audio run layered underneath; "" for none
    texture_db: float | None = Field(None, ge=-60, le=0)
