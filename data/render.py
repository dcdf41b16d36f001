"""Offline FluidSynth rendering of one instrument stem.

Each stem is rendered by a fresh ``fluidsynth.Synth`` (built-in reverb and chorus off, so the
output is a pure function of the events) at :data:`RENDER_SAMPLE_RATE`, in blocks between events,
then resampled to SAMPLE_RATE with soxr (linear phase, delay-compensated: sample-exact timing).
To keep fresh synths cheap, each process holds one "keeper" synth per soundfont with dynamic
sample loading; every program used is pinned on the keeper, so its samples stay in FluidSynth's
sample cache and later synths load them instantly.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import numpy as np
from septimbre.data.notes import ScoreNote
from septimbre.data.performance import BEND_RANGE_SEMITONES, ControlEvent
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import ParameterError, require

log = logging.getLogger(__name__)

#: FluidSynth's output rate; the stem is resampled to SAMPLE_RATE afterwards.
RENDER_SAMPLE_RATE = 2 * SAMPLE_RATE
#: FluidSynth renders in blocks of this many samples; stems are padded to a multiple of it.
_FLUID_BLOCK = 64
#: With ``legato=True``, a note-off that coincides with the next note's onset is sent this much
#: later (seconds), so the next note-on arrives while the note is held: a slur on a mono channel.
LEGATO_OVERLAP_S = 0.005
#: FluidSynth constants (fluidsynth/synth.h): Omni-off mono basic-channel mode and legato mode
#: "multi-retrigger" (a slurred note re-pitches the sounding voice when the new key lies in the
#: same instrument zone; otherwise it starts a new voice from the current envelope level).
_CHANNEL_MODE_OMNIOFF_MONO = 3
_LEGATO_MODE_MULTI_RETRIGGER = 1
#: FluidSynth master gain (output stays well below clipping for 4-note chords at velocity 127).
SYNTH_GAIN = 0.3
_SETTINGS = {
    "synth.reverb.active": 0,
    "synth.chorus.active": 0,
    "synth.dynamic-sample-loading": 1,
    "synth.polyphony": 512,
}

_keepers: dict[str, tuple[object, int, set[int]]] = {}
_write_float = None


def _fluidsynth():
    """The pyfluidsynth module, with ``fluid_synth_write_float`` bound (float output, no dither)."""
    global _write_float
    fs = require("fluidsynth", "train")
    if _write_float is None:
        fn = fs._fl.fluid_synth_write_float
        fn.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        fn.restype = ctypes.c_int
        fs._fl.fluid_synth_reset_basic_channel.argtypes = [ctypes.c_void_p, ctypes.c_int]
        fs._fl.fluid_synth_set_basic_channel.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        fs._fl.fluid_synth_set_legato_mode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        _write_float = fn
    return fs


def _new_synth(fs, path: str):
    synth = fs.Synth(gain=SYNTH_GAIN, samplerate=RENDER_SAMPLE_RATE, channels=256, **_SETTINGS)
    sfid = synth.sfload(path)
    if sfid < 0:
        raise ParameterError(f"FluidSynth could not load soundfont {path}")
    return synth, sfid


def _pin(path: str, program: int) -> None:
    """Keep ``program``'s samples of soundfont ``path`` loaded for this process."""
    fs = _fluidsynth()
    if path not in _keepers:
        synth, sfid = _new_synth(fs, path)
        _keepers[path] = (synth, sfid, set())
    synth, sfid, pinned = _keepers[path]
    if program not in pinned:
        synth.program_select(program, sfid, 0, program)
        pinned.add(program)


def has_program(soundfont: str | Path, program: int) -> bool:
    """Whether the soundfont has a bank-0 preset for GM ``program``."""
    path = str(soundfont)
    _pin(path, 0)
    synth, sfid, _ = _keepers[path]
    return synth.sfpreset_name(sfid, 0, int(program)) is not None


def render_stem(
    notes: list[ScoreNote],
    *,
    soundfont: str | Path,
    program: int,
    n_samples: int,
    controls: list[ControlEvent] = (),
    legato: bool = False,
) -> np.ndarray:
    """Render one instrument.

    Parameters
    ----------
    notes : list of ScoreNote
        Notes of the instrument (seconds); note-on at ``round(start_s * RENDER_SAMPLE_RATE)``.
    soundfont : path
        .sf2/.sf3 file.
    program : int
        GM program (bank 0).
    n_samples : int
        Output length, samples at SAMPLE_RATE; sound after it is cut.
    controls : list of ControlEvent
        CC and pitch-bend events of the channel.
    legato : bool
        Play the channel in mono mode with legato (FluidSynth basic channel Omni-off mono, legato
        mode multi-retrigger): a note whose end equals the next note's onset (different pitch) is
        released :data:`LEGATO_OVERLAP_S` after that onset, so the change of pitch is slurred.
        The notes must be monophonic (see :func:`septimbre.data.performance.mono_legato`).

    Returns
    -------
    ndarray, float32, shape (n_samples,)
        Mono stem at SAMPLE_RATE.
    """
    fs = _fluidsynth()
    path = str(soundfont)
    _pin(path, int(program))
    synth, sfid = _new_synth(fs, path)
    try:
        ch = 0
        if synth.program_select(ch, sfid, 0, int(program)) != 0:
            raise ParameterError(f"soundfont {path} has no preset for GM program {program}")
        # Explicit pitch-bend range (RPN 0), then null RPN; centre pan; no effect sends.
        for cc, v in (
            (101, 0),
            (100, 0),
            (6, BEND_RANGE_SEMITONES),
            (38, 0),
            (101, 127),
            (100, 127),
            (10, 64),
            (91, 0),
            (93, 0),
        ):
            synth.cc(ch, cc, v)
        if legato:
            fl = fs._fl
            if (fl.fluid_synth_reset_basic_channel(synth.synth, -1) != 0
                    or fl.fluid_synth_set_basic_channel(synth.synth, ch, _CHANNEL_MODE_OMNIOFF_MONO, 1) != 0
                    or fl.fluid_synth_set_legato_mode(synth.synth, ch, _LEGATO_MODE_MULTI_RETRIGGER) != 0):
                raise ParameterError("FluidSynth refused mono legato mode on the render channel")
        sr = RENDER_SAMPLE_RATE
        n_render = -(-(n_samples * sr // SAMPLE_RATE + _FLUID_BLOCK) // _FLUID_BLOCK) * _FLUID_BLOCK
        events = []
        ordered = sorted(notes, key=lambda n: (n.start_s, n.pitch))
        for i, n in enumerate(ordered):
            end = n.end_s
            if legato and i + 1 < len(ordered):
                nxt = ordered[i + 1]
                if nxt.pitch != n.pitch and abs(end - nxt.start_s) < 1e-9:
                    end = nxt.start_s + LEGATO_OVERLAP_S
            events.append((int(round(n.start_s * sr)), 2, "on", n.pitch, n.velocity))
            events.append((int(round(end * sr)), 0, "off", n.pitch, 0))
        for c in controls:
            events.append((int(round(c.time_s * sr)), 1, c.kind, c.number, c.value))
        events.sort(key=lambda e: (e[0], e[1]))
        left = np.zeros(n_render, np.float32)
        right = np.zeros(n_render, np.float32)
        pos = 0
        handle = synth.synth

        def advance(to: int) -> None:
            nonlocal pos
            to = min(to, n_render)
            if to > pos:
                _write_float(
                    handle, to - pos, left.ctypes.data + 4 * pos, 0, 1, right.ctypes.data + 4 * pos, 0, 1
                )
                pos = to

        for at, _, kind, a, b in events:
            if at >= n_render:
                break
            advance(at)
            if kind == "on":
                synth.noteon(ch, a, b)
            elif kind == "off":
                synth.noteoff(ch, a)
            elif kind == "cc":
                synth.cc(ch, a, b)
            else:
                synth.pitch_bend(ch, b)
        advance(n_render)
    finally:
        synth.delete()
    mono = 0.5 * (left + right)
    soxr = require("soxr", "train")
    out = soxr.resample(mono, sr, SAMPLE_RATE, quality="HQ").astype(np.float32)
    if out.shape[0] < n_samples:
        out = np.pad(out, (0, n_samples - out.shape[0]))
    return out[:n_samples]
