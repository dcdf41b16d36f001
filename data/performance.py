"""Performance: per-note velocity and timing, vibrato / pitch-bend wobble, volume swells.

Labels stay exact: timing changes are applied to the notes themselves (the targets are computed
from the humanised notes), and pitch bends never exceed :data:`MAX_BEND_CENTS` (< a quarter tone),
so the nearest semitone is always the labelled pitch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from septimbre.data.notes import MIN_NOTE_S, ScoreNote, sanitize
from septimbre.utils.errors import ParameterError

#: Pitch-bend range set explicitly on every channel (RPN 0), semitones.
BEND_RANGE_SEMITONES = 2
#: Largest pitch deviation any bend may produce, cents (a quarter tone is 50).
MAX_BEND_CENTS = 35.0
#: Interval between successive control events of a curve, seconds.
CONTROL_STEP_S = 0.01


@dataclass(frozen=True)
class ControlEvent:
    """A channel event at ``time_s``: kind ``"cc"`` (number, value) or ``"bend"`` (value in -8192..8191)."""

    time_s: float
    kind: str
    number: int
    value: int


def humanize(
    notes: list[ScoreNote],
    rng: np.random.Generator,
    *,
    base_velocity: float,
    velocity_spread: float,
    timing_sd_s: float,
    lag_s: float,
    beat_s: float,
) -> list[ScoreNote]:
    """Per-note velocities (phrase curve + accents + jitter) and onset/offset timing jitter.

    ``lag_s`` shifts the whole instrument (onsets of different instruments are not aligned);
    ``timing_sd_s`` is the per-note onset jitter standard deviation.
    """
    out = []
    phase = rng.uniform(0, 2 * np.pi)
    period = rng.uniform(4.0, 12.0)
    for n in notes:
        on_beat = abs((n.start_s / beat_s) - round(n.start_s / beat_s)) < 1e-6
        v = base_velocity + 0.5 * velocity_spread * np.sin(2 * np.pi * n.start_s / period + phase)
        v += 8.0 * on_beat + rng.normal(0.0, velocity_spread * 0.35)
        j = rng.normal(0.0, timing_sd_s) + lag_s
        start = max(0.0, n.start_s + j)
        end = n.end_s + j + rng.normal(0.0, timing_sd_s * 0.5)
        out.append(
            replace(n, start_s=start, end_s=max(end, start + 0.03), velocity=int(np.clip(round(v), 15, 127)))
        )
    return out


def _smooth_noise(rng: np.random.Generator, n: int, *, step_s: float, corr_s: float) -> np.ndarray:
    """Zero-mean, unit-peak smooth random curve of ``n`` points (Gaussian-filtered noise)."""
    from scipy.ndimage import gaussian_filter1d

    x = gaussian_filter1d(rng.standard_normal(n + 64), sigma=max(corr_s / step_s, 1.0), mode="wrap")[32:-32]
    return x / (np.abs(x).max() + 1e-12)


def control_curves(
    rng: np.random.Generator,
    *,
    duration_s: float,
    vibrato_cents: float,
    vibrato_hz: float,
    wobble_cents: float,
    swell_depth: float,
    expression: int,
    detune_cents: float = 0.0,
) -> list[ControlEvent]:
    """Channel controls for one stem: fixed CC7, CC11 swells, vibrato + slow wobble as pitch bend.

    Parameters
    ----------
    vibrato_cents : float
        Peak vibrato depth, cents (0 disables); the depth fades in and out slowly.
    vibrato_hz : float
        Vibrato rate, Hz.
    wobble_cents : float
        Peak of a slow random pitch drift, cents.
    swell_depth : float
        0..1; CC11 moves between ``expression * (1 - swell_depth)`` and ``expression``.
    expression : int
        Top CC11 value.
    detune_cents : float
        Constant pitch offset of the whole stem, cents (a player's own intonation); added to the
        vibrato and wobble before the clip to :data:`MAX_BEND_CENTS`.
    Returns events sorted by time; only changed values are sent.
    """
    events = [ControlEvent(0.0, "cc", 7, 100), ControlEvent(0.0, "cc", 11, int(expression))]
    n = int(np.ceil(duration_s / CONTROL_STEP_S)) + 1
    t = np.arange(n) * CONTROL_STEP_S
    if swell_depth > 0:
        curve = 0.5 * (1.0 + _smooth_noise(rng, n, step_s=CONTROL_STEP_S, corr_s=rng.uniform(0.4, 2.0)))
        vals = np.rint(expression * (1.0 - swell_depth * curve)).astype(int)
        prev = expression
        for ti, v in zip(t, vals):
            if v != prev:
                events.append(ControlEvent(float(ti), "cc", 11, int(np.clip(v, 0, 127))))
                prev = v
    if vibrato_cents > 0 or wobble_cents > 0 or detune_cents != 0:
        cents = np.full(n, float(detune_cents))
        if vibrato_cents > 0 or wobble_cents > 0:  # the same draws as without a detune
            depth = vibrato_cents * (0.5 + 0.5 * np.abs(_smooth_noise(rng, n, step_s=CONTROL_STEP_S, corr_s=1.0)))
            rate = vibrato_hz * (1.0 + 0.05 * _smooth_noise(rng, n, step_s=CONTROL_STEP_S, corr_s=1.0))
            phase = 2 * np.pi * np.cumsum(rate) * CONTROL_STEP_S + rng.uniform(0, 2 * np.pi)
            cents += depth * np.sin(phase)
            if wobble_cents > 0:
                cents += wobble_cents * _smooth_noise(rng, n, step_s=CONTROL_STEP_S, corr_s=0.7)
        cents = np.clip(cents, -MAX_BEND_CENTS, MAX_BEND_CENTS)
        bends = np.rint(cents / (100.0 * BEND_RANGE_SEMITONES) * 8192).astype(int)
        prev = 0
        for ti, b in zip(t, bends):
            if b != prev:
                events.append(ControlEvent(float(ti), "bend", 0, int(b)))
                prev = b
    events.sort(key=lambda e: e.time_s)
    return events


#: Two onsets of a line closer than this (seconds) make it a chord: no mono legato for that line.
MIN_LEGATO_ONSET_GAP_S = 0.03


def mono_legato(notes: list[ScoreNote], *, join_gap_s: float) -> list[ScoreNote] | None:
    """Notes of a monophonic line as played slurred on one mono-legato FluidSynth channel.

    A mono channel sounds one note at a time, so each note's label ends no later than the next
    onset; a note followed by a *different* pitch within ``join_gap_s`` seconds is held up to that
    onset (a slur: :func:`septimbre.data.render.render_stem` with ``legato=True`` then changes the
    pitch of the sounding voice without a new attack where the soundfont allows). Repeated pitches
    keep their gap (a re-articulation).

    Parameters
    ----------
    notes : list of ScoreNote
        One instrument's notes (seconds).
    join_gap_s : float
        Largest silence between two notes that is slurred over, seconds (0: only overlapping or
        touching notes are slurred).

    Returns
    -------
    list of ScoreNote or None
        The adjusted notes sorted by onset, or None when two onsets lie within
        :data:`MIN_LEGATO_ONSET_GAP_S` (a chord or double stop, which a mono channel cannot play).
    """
    ordered = sorted(notes, key=lambda n: (n.start_s, n.pitch))
    out: list[ScoreNote] = []
    for cur, nxt in zip(ordered, ordered[1:]):
        if nxt.start_s - cur.start_s < MIN_LEGATO_ONSET_GAP_S:
            return None
        end = min(cur.end_s, nxt.start_s)
        if nxt.pitch != cur.pitch and nxt.start_s - cur.end_s <= join_gap_s:
            end = nxt.start_s
        out.append(replace(cur, end_s=end))
    out.extend(ordered[len(out):])
    return out


#: A re-articulated note keeps at least this share of its sounding length.
REARTICULATE_MIN_SHARE = 0.5


def rearticulate(notes: list[ScoreNote], rng: np.random.Generator, *, gap_s: tuple[float, float]) -> list[ScoreNote]:
    """Leave a short break before every re-attack of a pitch, as players do.

    A note followed by the same pitch less than ``g`` seconds after its end (``g`` drawn per note,
    uniform in ``gap_s``) is shortened so that it ends ``g`` before that onset -- a tongued,
    re-bowed or re-struck repetition. FluidSynth otherwise releases the old voice exactly where the
    new one starts, and a sustained patch then barely changes: the repeated note's onset is in the
    labels but hardly in the audio (most of basicamt-7's misses on synthetic validation;
    docs/basicamt.md). A note is never cut below :data:`REARTICULATE_MIN_SHARE` of its length nor
    below :data:`MIN_NOTE_S`. Onsets never move.

    Parameters
    ----------
    notes : list of ScoreNote
        One instrument's notes (seconds), as :func:`sanitize` leaves them (a key is never held twice).
    rng : numpy Generator
        Draws one gap per note.
    gap_s : (float, float)
        Range of the break before a repeated pitch, seconds.

    Returns
    -------
    list of ScoreNote
        The notes sorted by (start, pitch), with the same onsets and pitches.
    """
    lo, hi = float(gap_s[0]), float(gap_s[1])
    if not 0.0 <= lo <= hi:
        raise ParameterError(f"gap_s must be [min, max] with 0 <= min <= max; got {gap_s!r}")
    ordered = sorted(notes, key=lambda n: (n.start_s, n.pitch))
    next_same: dict[int, float] = {}
    out = list(ordered)
    for i in range(len(ordered) - 1, -1, -1):
        n = ordered[i]
        nxt = next_same.get(n.pitch)
        next_same[n.pitch] = n.start_s
        gap = float(rng.uniform(lo, hi))
        if nxt is None or nxt - n.end_s >= gap:
            continue
        keep = max(MIN_NOTE_S, REARTICULATE_MIN_SHARE * (n.end_s - n.start_s))
        out[i] = replace(n, end_s=max(min(n.end_s, n.start_s + keep), nxt - gap))
    return out


def restore_written_ends(notes: list[ScoreNote], written: list[ScoreNote]) -> list[ScoreNote]:
    """Give notes back the written end a :func:`rearticulate` call cut, for labels.

    ``written`` are the notes before re-articulation (matched to ``notes`` by onset and pitch, which
    it never moves); each note ends at the later of its own end and its written one (so a sustain
    pedal's longer sound is kept). Notes with no written twin are left as they are. Order kept.
    """
    written_end = {(n.start_s, n.pitch): n.end_s for n in written}
    return [replace(n, end_s=max(n.end_s, written_end.get((n.start_s, n.pitch), n.end_s))) for n in notes]


#: Onsets closer than this (seconds) belong to one chord when the sustain pedal is changed.
PEDAL_CHORD_S = 0.03


def sustain_pedal(
    notes: list[ScoreNote],
    rng: np.random.Generator,
    *,
    change_prob: float,
    catch_s: float,
    duration_s: float,
) -> tuple[list[ScoreNote], list[ControlEvent]]:
    """Sustain pedal (CC64) for a piano stem, and the notes as they then sound.

    The pedal is changed "legato" style: lifted exactly at a chord's onset and pressed again
    ``catch_s`` later; each chord after the first is a change point with probability
    ``change_prob`` (otherwise the harmony keeps ringing into it). A key released while the pedal is
    down sounds until the pedal is lifted, so the returned notes (the labels) end there; a re-struck
    key still ends the earlier note at the new onset (as FluidSynth releases it).

    Parameters
    ----------
    notes : list of ScoreNote
        Key presses and releases (what is sent to the synthesizer), seconds.
    rng : numpy Generator
    change_prob : float
        Probability that a later chord changes the pedal.
    catch_s : float
        Delay from a change point's onset to pressing the pedal, seconds.
    duration_s : float
        Example length, seconds: sounding notes are clipped to it.

    Returns
    -------
    (list of ScoreNote, list of ControlEvent)
        Sounding notes sorted by (start, pitch), and the CC64 events sorted by time.
    """
    keys = sorted(notes, key=lambda n: (n.start_s, n.pitch))
    if not keys:
        return [], []
    chords = [keys[0].start_s]
    for n in keys[1:]:
        if n.start_s - chords[-1] >= PEDAL_CHORD_S:
            chords.append(n.start_s)
    changes = [chords[0]] + [t for t in chords[1:] if rng.random() < change_prob]
    last_release = max(n.end_s for n in keys)
    ends = changes[1:] + [min(duration_s, last_release + float(rng.uniform(0.0, 0.5)))]
    down = [(t + catch_s, u) for t, u in zip(changes, ends) if t + catch_s < u]
    events: list[ControlEvent] = []
    for d, u in down:
        events += [ControlEvent(float(d), "cc", 64, 127), ControlEvent(float(u), "cc", 64, 0)]
    # A key released under the pedal sounds until the lift; sanitize then ends a note at a re-strike
    # of its key and clips to the example, as for any other stem.
    held = [replace(n, end_s=next((u for d, u in down if d <= n.end_s < u), n.end_s)) for n in keys]
    pitches = [n.pitch for n in keys]
    return sanitize(held, low=min(pitches), high=max(pitches), duration_s=duration_s), events
