"""Data-split configuration: which soundfonts and programs, how much score material, and the
performance / room augmentation ranges. Loaded from JSON (data/configs/*.json).

Every example of a split is a pure function of ``(config, index)``: the random stream of example
``i`` is ``numpy.random.default_rng([config.seed, i])``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from septimbre.data.performance import MAX_BEND_CENTS
from septimbre.data.programs import GM_PROGRAMS
from septimbre.data.room import TILT_LIMIT_DB
from septimbre.data.soundfonts import SOUNDFONTS
from septimbre.utils.config_files import config_path, load_derived_json
from septimbre.utils.errors import ParameterError

#: Folder of the shipped split configs.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Most instruments in one example.
MAX_INSTRUMENTS = 4

DEFAULT_FAMILY_WEIGHTS = {
    "piano": 1.0,
    "chromatic_percussion": 0.5,
    "organ": 0.8,
    "guitar": 0.9,
    "bass": 0.8,
    "strings": 2.0,
    "ensemble": 1.2,
    "brass": 2.0,
    "reed": 2.0,
    "pipe": 1.5,
    "synth_lead": 0.6,
    "synth_pad": 0.3,
    "ethnic": 0.5,
}

DEFAULT_PERFORMANCE = {
    "tempo_bpm": [60.0, 180.0],
    "chord_prob": [0.1, 0.6],
    "rest_prob": [0.0, 0.12],
    "repeat_prob": [0.05, 0.25],
    "legato_prob": [0.0, 0.5],
    "step_scale": [1.5, 5.0],
    "double_prob": 0.25,
    "velocity": [45.0, 110.0],
    "velocity_spread": [5.0, 30.0],
    "timing_sd_s": [0.0, 0.015],
    "lag_s": [-0.02, 0.02],
    "vibrato_prob_sustained": 0.6,
    "vibrato_prob_other": 0.1,
    "vibrato_cents": [5.0, 30.0],
    "vibrato_hz": [4.0, 7.0],
    "wobble_cents": [0.0, 8.0],
    "swell_prob_sustained": 0.6,
    "swell_prob_other": 0.2,
    "swell_depth": [0.1, 0.5],
    "expression": [90, 127],
    "mono_legato_prob": 0.0,
    "legato_join_s": [0.0, 0.08],
    "pedal_prob": 0.0,
    "pedal_change_prob": [0.3, 1.0],
    "pedal_catch_s": [0.03, 0.15],
    "detune_cents": 0.0,
    "rearticulate_prob": 0.0,
    "rearticulate_gap_s": [0.03, 0.1],
    "rearticulate_labels": "played",
}

DEFAULT_ROOM = {
    "body_prob": 0.0,
    "body_peaks": [6, 20],
    "body_hz": [150.0, 6000.0],
    "body_gain_db": [-6.0, 12.0],
    "body_q": [4.0, 40.0],
    "fundamental_cut_prob": 0.0,
    "fundamental_cut_db": [6.0, 15.0],
    "gain_db": [-9.0, 0.0],
    "tilt_db_per_octave": [-3.0, 3.0],
    "reverb_prob": 0.75,
    "rt60_s": [0.2, 2.0],
    "predelay_s": [0.0, 0.03],
    "damping": [0.2, 0.9],
    "wet": [0.05, 0.45],
    "noise_prob": 0.5,
    "snr_db": [12.0, 45.0],
    "noise_exponent": [0.0, 2.0],
    "peak_dbfs": [-9.0, -1.0],
}


@dataclass(frozen=True)
class DataConfig:
    """One split's recipe (see data/configs/train.json for a commented example in docs/data.md).

    Attributes
    ----------
    name : str
        Split name recorded in the manifest.
    seed : int
        Base seed; example ``i`` uses ``default_rng([seed, i])``.
    soundfonts : dict
        ``{key: {"weight": w, "programs": [GM program, ...]}}``; keys from SOUNDFONTS.
    n_instruments_weights : list of float
        Relative probability of 1, 2, 3, 4 instruments.
    duration_s : list of float
        [min, max] example length, seconds.
    score_ratio : float
        Probability that an example uses music21 corpus material instead of random notes.
    score_collections : dict
        ``{corpus folder: weight}`` of music21 collections used for score material.
    score_accompaniment_prob : float
        Probability that score material with a polyphonic instrument (piano, organ, guitar, ...)
        has that instrument accompany the others: it plays every part no other instrument takes
        (or doubles one), so the others sound inside its voicing. 0 (the default) renders every
        earlier split unchanged.
    family_weights : dict
        Sampling weight per program family.
    synth_prob : float
        Probability that a stem is played by a drawn source-filter instrument
        (:mod:`septimbre.data.synth`) instead of its soundfont; the program still sets its range,
        polyphony and envelope kind. 0 (the default) renders every earlier split unchanged.
    family_tilt_db_per_octave : dict
        ``{family: [min, max]}``: the EQ tilt range (dB per octave) of that family's stems, in place
        of ``room["tilt_db_per_octave"]``; the same single draw, so ``{}`` (the default) renders
        every earlier split unchanged. Lets one split darken the winds and strings while the piano
        stays bright, as in the TRIOS recordings.
    tilt_limit_db : float
        Largest boost or cut the EQ tilt may reach at any frequency, dB (default
        :data:`septimbre.data.room.TILT_LIMIT_DB`, 12, which every earlier split used).
    performance, room : dict
        Ranges of the performance and room augmentations (defaults in this module).
    """

    name: str
    seed: int
    soundfonts: dict[str, dict[str, Any]]
    n_instruments_weights: list[float] = field(default_factory=lambda: [0.15, 0.3, 0.3, 0.25])
    duration_s: list[float] = field(default_factory=lambda: [10.0, 20.0])
    score_ratio: float = 0.4
    score_collections: dict[str, float] = field(default_factory=dict)
    score_accompaniment_prob: float = 0.0
    family_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAMILY_WEIGHTS))
    synth_prob: float = 0.0
    family_tilt_db_per_octave: dict[str, list[float]] = field(default_factory=dict)
    tilt_limit_db: float = TILT_LIMIT_DB
    performance: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PERFORMANCE))
    room: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ROOM))

    def __post_init__(self) -> None:
        if not self.soundfonts:
            raise ParameterError("config needs at least one soundfont")
        for key, spec in self.soundfonts.items():
            if key not in SOUNDFONTS:
                raise ParameterError(f"unknown soundfont {key!r}; known: {sorted(SOUNDFONTS)}")
            bad = [p for p in spec.get("programs", []) if p not in GM_PROGRAMS]
            if bad or not spec.get("programs"):
                raise ParameterError(f"soundfont {key!r}: programs missing or not pitched/usable: {bad}")
        if not (0.0 <= self.score_ratio <= 1.0):
            raise ParameterError("score_ratio must be in [0, 1]")
        if not (0.0 <= self.score_accompaniment_prob <= 1.0):
            raise ParameterError("score_accompaniment_prob must be in [0, 1]")
        if not (0.0 <= self.synth_prob <= 1.0):
            raise ParameterError("synth_prob must be in [0, 1]")
        for family, span in self.family_tilt_db_per_octave.items():
            if family not in DEFAULT_FAMILY_WEIGHTS:
                raise ParameterError(f"family_tilt_db_per_octave: unknown family {family!r}; known: "
                                     f"{sorted(DEFAULT_FAMILY_WEIGHTS)}")
            if len(span) != 2 or not -24.0 <= span[0] <= span[1] <= 24.0:
                raise ParameterError(f"family_tilt_db_per_octave[{family!r}] must be [min, max] dB per octave "
                                     "with -24 <= min <= max <= 24")
        if not 0.0 < self.tilt_limit_db <= 48.0:
            raise ParameterError("tilt_limit_db must be in (0, 48] dB")
        if len(self.n_instruments_weights) > 4 or sum(self.n_instruments_weights) <= 0:
            raise ParameterError(f"n_instruments_weights: up to {MAX_INSTRUMENTS} non-negative weights")
        lo, hi = self.duration_s
        if not (0.5 <= lo <= hi):
            raise ParameterError("duration_s must be [min, max] with 0.5 <= min <= max")
        # Fill defaults for keys absent from partial dicts (dataclass is frozen: use object.__setattr__).
        object.__setattr__(self, "performance", {**DEFAULT_PERFORMANCE, **self.performance})
        object.__setattr__(self, "room", {**DEFAULT_ROOM, **self.room})
        object.__setattr__(self, "family_weights", {**DEFAULT_FAMILY_WEIGHTS, **self.family_weights})
        if not 0.0 <= self.performance["detune_cents"] < MAX_BEND_CENTS:
            raise ParameterError(f"performance.detune_cents must be in [0, {MAX_BEND_CENTS:g}) cents")
        if not 0.0 <= self.room["fundamental_cut_prob"] <= 1.0:
            raise ParameterError("room.fundamental_cut_prob must be in [0, 1]")
        cut_lo, cut_hi = self.room["fundamental_cut_db"]
        if not 0.0 <= cut_lo <= cut_hi <= 40.0:
            raise ParameterError("room.fundamental_cut_db must be [min, max] dB with 0 <= min <= max <= 40")
        if not 0.0 <= self.performance["rearticulate_prob"] <= 1.0:
            raise ParameterError("performance.rearticulate_prob must be in [0, 1]")
        gap_lo, gap_hi = self.performance["rearticulate_gap_s"]
        if not 0.0 <= gap_lo <= gap_hi <= 0.5:
            raise ParameterError("performance.rearticulate_gap_s must be [min, max] seconds with 0 <= min <= max <= 0.5")
        if self.performance["rearticulate_labels"] not in ("played", "score"):
            raise ParameterError("performance.rearticulate_labels must be 'played' (labels end where the sound "
                                 f"breaks) or 'score' (labels keep written lengths); got {self.performance['rearticulate_labels']!r}")

    @classmethod
    def from_json(cls, path: str | Path) -> DataConfig:
        """Load a config file; a bare name like ``"train"`` means ``data/configs/train.json``.

        A file may name another config as its ``"base"`` (a bare name, or a path relative to the
        file's folder) and give only what differs: see :func:`load_config_dict`.
        """
        raw = load_config_dict(path)
        try:
            return cls(**raw)
        except TypeError as exc:
            raise ParameterError(f"bad config {config_path(path, CONFIG_DIR)}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy."""
        return asdict(self)


#: Fields whose dict values a derived config merges key by key into its base's (the others replace).
MERGED_FIELDS = ("performance", "room", "family_weights", "family_tilt_db_per_octave")


def load_config_dict(path: str | Path) -> dict[str, Any]:
    """A split config's fields as a dict, with its ``"base"`` chain resolved.

    A config with ``"base": "train_real"`` starts from that config's fields; its own fields then
    replace the base's, except ``performance``, ``room`` and ``family_weights``, which merge key by
    key (so ``{"room": {"gain_db": [-18, 0]}}`` changes one range and keeps the base's others).
    A derived config must set its own ``name``. ``comment`` is dropped at every level
    (:func:`septimbre.utils.config_files.load_derived_json`).

    Raises ParameterError for a missing file, bad JSON, a base cycle or a derived config without
    a name.
    """
    return load_derived_json(path, config_dir=CONFIG_DIR, merged_fields=MERGED_FIELDS,
                             required_when_derived=("name",))
