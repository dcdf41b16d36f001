"""Note material: the note type of the data engine and the random note generator.

All times are seconds from the start of the example; pitches are MIDI note numbers.
The random generator follows the spirit of synthetic-AMT data generators: every pitch of an
instrument's range can appear (octave-weighted), lines move mostly by small steps, chords favour
intervals whose partials overlap (4, 5, 7, 12, 19 semitones), note lengths go from a 32nd to a
whole note on a tempo grid, onsets are humanised per instrument, and the same pitch is re-attacked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: Shortest note kept after any processing, seconds (about 3 frames).
MIN_NOTE_S = 0.03
#: Note lengths of the generator in quarter notes (32nd .. whole, with dotted values) and weights.
NOTE_LENGTHS_QL = (0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
NOTE_LENGTH_WEIGHTS = (0.05, 0.22, 0.04, 0.28, 0.06, 0.17, 0.04, 0.08, 0.03, 0.03)
#: Chord intervals (semitones above the lower note) and their weights: overlapping partials first.
CHORD_INTERVALS = (3, 4, 5, 7, 8, 9, 12, 19, 24)
CHORD_INTERVAL_WEIGHTS = (0.08, 0.16, 0.14, 0.2, 0.05, 0.07, 0.18, 0.07, 0.05)
#: Transpositions used when one instrument doubles another's line (unison, octaves, twelfths).
DOUBLING_INTERVALS = (0, 12, -12, 19, -19, 24, 7, -5)


@dataclass(frozen=True)
class ScoreNote:
    """One note of one instrument.

    Attributes
    ----------
    start_s, end_s : float
        Onset and offset (MIDI note-off), seconds from the start of the example.
    pitch : int
        MIDI note number.
    velocity : int
        MIDI velocity 1..127.
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int = 90


def sanitize(notes: list[ScoreNote], *, low: int, high: int, duration_s: float) -> list[ScoreNote]:
    """Make a note list renderable and label-exact.

    Drops notes outside ``low..high`` or starting after ``duration_s - MIN_NOTE_S``, clips offsets to
    ``duration_s``, removes duplicate (start, pitch) pairs, and shortens a note that would still
    sound when the same pitch is re-attacked (one MIDI channel cannot hold a key twice).
    Returns notes sorted by (start, pitch).
    """
    out: list[ScoreNote] = []
    by_pitch: dict[int, int] = {}
    for n in sorted(notes, key=lambda n: (n.start_s, n.pitch, -n.end_s)):
        if not (low <= n.pitch <= high) or n.start_s < 0 or n.start_s > duration_s - MIN_NOTE_S:
            continue
        n = replace(n, end_s=min(n.end_s, duration_s), velocity=int(np.clip(n.velocity, 1, 127)))
        prev = by_pitch.get(n.pitch)
        if prev is not None:
            p = out[prev]
            if p.start_s >= n.start_s - 1e-9:
                continue  # same pitch, same onset: keep the first
            if p.end_s > n.start_s:
                out[prev] = replace(p, end_s=n.start_s)
        if n.end_s - n.start_s < MIN_NOTE_S:
            continue
        by_pitch[n.pitch] = len(out)
        out.append(n)
    return [n for n in out if n.end_s - n.start_s >= MIN_NOTE_S - 1e-9]


def octave_weights(low: int, high: int, *, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Probability of each pitch ``low..high`` favouring the middle of the range (never zero).

    ``spread`` is the standard deviation of the Gaussian bump in octaves; a floor keeps the extreme
    pitches possible so that every pitch of the range appears over many examples.
    """
    pitches = np.arange(low, high + 1)
    centre = rng.uniform(low + 0.3 * (high - low), low + 0.7 * (high - low))
    w = np.exp(-0.5 * ((pitches - centre) / (12.0 * spread)) ** 2) + 0.08
    return w / w.sum()


def random_line(
    rng: np.random.Generator,
    *,
    low: int,
    high: int,
    duration_s: float,
    beat_s: float,
    polyphonic: bool,
    chord_prob: float,
    rest_prob: float,
    repeat_prob: float,
    legato_prob: float,
    step_scale: float,
) -> list[ScoreNote]:
    """Random notes of one instrument on a tempo grid (before humanisation).

    Parameters
    ----------
    rng : numpy Generator
    low, high : int
        Playable range, MIDI inclusive.
    duration_s : float
        Length of the example, seconds.
    beat_s : float
        Length of a quarter note, seconds.
    polyphonic : bool
        Whether chords (up to 4 notes) are allowed; monophonic instruments still get rare
        double stops of overlapping-partial intervals.
    chord_prob, rest_prob, repeat_prob, legato_prob : float
        Probabilities per event of a chord, a rest, a re-attack of the previous pitch, and of a
        legato overlap (the note lasts into the next one) for monophonic lines.
    step_scale : float
        Typical melodic step, semitones (melodic continuity).
    """
    weights = octave_weights(low, high, rng=rng, spread=rng.uniform(0.6, 1.6))
    pitches = np.arange(low, high + 1)
    lengths = np.array(NOTE_LENGTHS_QL)
    lw = np.array(NOTE_LENGTH_WEIGHTS)
    # Each instrument prefers some note lengths: tilt the length distribution.
    lw = lw * np.exp(rng.normal(0.0, 0.7, size=lw.shape))
    lw /= lw.sum()
    iw = np.array(CHORD_INTERVAL_WEIGHTS) / np.sum(CHORD_INTERVAL_WEIGHTS)
    notes: list[ScoreNote] = []
    t = float(rng.choice([0.0, 0.25, 0.5, 1.0]) * beat_s)
    last = int(rng.choice(pitches, p=weights))
    while t < duration_s - MIN_NOTE_S:
        ql = float(rng.choice(lengths, p=lw))
        dur = ql * beat_s
        if rng.random() < rest_prob:
            t += dur
            continue
        if rng.random() < repeat_prob:
            root = last
        elif rng.random() < 0.1:  # leap anywhere (octave-weighted)
            root = int(rng.choice(pitches, p=weights))
        else:  # melodic continuity: octave weight x Laplacian kernel around the last pitch
            kernel = np.exp(-np.abs(pitches - last) / step_scale)
            p = weights * kernel
            root = int(rng.choice(pitches, p=p / p.sum()))
        chord = [root]
        want_chord = rng.random() < (chord_prob if polyphonic else chord_prob * 0.15)
        if want_chord:
            n_extra = int(rng.integers(1, 4)) if polyphonic else 1
            top = root
            for _ in range(n_extra):
                iv = int(rng.choice(CHORD_INTERVALS, p=iw))
                cand = top + iv
                if cand > high:
                    cand = chord[0] - iv
                    if cand < low:
                        break
                chord.append(cand)
                top = max(chord)
        # Sounding length: articulation between staccato and full value.
        art = rng.uniform(0.55, 1.0) if rng.random() < 0.5 else 1.0
        sound = max(MIN_NOTE_S, dur * art)
        if not polyphonic and len(chord) == 1 and rng.random() < legato_prob:
            sound = dur + rng.uniform(0.01, 0.06)  # overlaps the next note
        for p_ in sorted(set(chord)):
            # Polyphonic instruments: chord notes may start slightly apart (strummed/rolled).
            lag = rng.uniform(0.0, 0.03) if (len(chord) > 1 and rng.random() < 0.3) else 0.0
            notes.append(ScoreNote(t + lag, t + sound, int(p_), 90))
        last = root
        t += dur
    return notes


def transpose_notes(notes: list[ScoreNote], semitones: int) -> list[ScoreNote]:
    """The same notes shifted by ``semitones``."""
    return [replace(n, pitch=n.pitch + int(semitones)) for n in notes]


def fit_to_range(notes: list[ScoreNote], *, low: int, high: int, rng: np.random.Generator) -> list[ScoreNote]:
    """Transpose a line by whole octaves (plus nothing else) so it best fits ``low..high``.

    Chooses, among octave shifts, the one keeping most notes in range (ties: random); notes still
    outside are dropped later by :func:`sanitize`.
    """
    if not notes:
        return notes
    pitches = np.array([n.pitch for n in notes])
    best, best_count = [], -1
    for k in range(-6, 7):
        shifted = pitches + 12 * k
        count = int(np.sum((shifted >= low) & (shifted <= high)))
        if count > best_count:
            best, best_count = [k], count
        elif count == best_count:
            best.append(k)
    return transpose_notes(notes, 12 * int(rng.choice(best)))
