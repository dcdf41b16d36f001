"""One training example as a pure function of (config, index).

Pipeline: choose instruments (soundfont + program) -> note material (random generator or a
music21 corpus excerpt) -> performance (humanised timing, velocities, vibrato, swells) -> render
each stem with FluidSynth (or, with ``synth_prob``, a drawn source-filter instrument) -> room
(gain, EQ tilt, shared reverb, noise in the mix only) -> targets from the final notes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from septimbre.data import corpus as corpus_mod
from septimbre.data.config import DataConfig
from septimbre.data.notes import (
    DOUBLING_INTERVALS,
    ScoreNote,
    fit_to_range,
    random_line,
    sanitize,
    transpose_notes,
)
from septimbre.data.performance import (
    control_curves, humanize, mono_legato, rearticulate, restore_written_ends, sustain_pedal,
)
from septimbre.data.programs import program_info
from septimbre.data.render import render_stem
from septimbre.data.room import (
    add_reverb,
    body_eq,
    body_resonances,
    colored_noise,
    eq_tilt,
    impulse_response,
    rms,
    weaken_fundamentals,
)
from septimbre.data.soundfonts import find_soundfont
from septimbre.data.synth import draw_voice, render_synth_stem
from septimbre.data.targets import notes_to_roll
from septimbre.utils.constants import SAMPLE_RATE, midi_to_hz, n_frames
from septimbre.utils.errors import ParameterError

log = logging.getLogger(__name__)
#: Corpus files whose parse failure this process has already reported at warning level.
_UNPARSABLE_REPORTED: set[str] = set()

#: music21 corpus collections notated with a half-note (or longer) beat: tempo doubled in quarters.
ALLA_BREVE_COLLECTIONS = frozenset(
    {"palestrina", "monteverdi", "trecento", "josquin", "ciconia", "luca", "lusitano"}
)


@dataclass(frozen=True)
class Example:
    """A rendered example.

    Attributes
    ----------
    mix : ndarray, float32, shape (samples,)
        Mixture at SAMPLE_RATE (stems summed, plus noise).
    stems : ndarray, float32, shape (n_inst, samples)
        Per-instrument audio after gain, EQ and reverb (no noise).
    rolls : ndarray, uint8, shape (n_inst, N_PITCHES, frames)
        0 silent, 1 sustain, 2 onset; ``frames == ceil(samples / HOP_LENGTH)``.
    programs : ndarray, int16, shape (n_inst,)
        GM program of each stem.
    notes : tuple of tuple of ScoreNote
        The exact notes of each stem (seconds).
    meta : dict
        JSON-able manifest record (source, soundfonts, programs, augmentation parameters).
    """

    mix: np.ndarray
    stems: np.ndarray
    rolls: np.ndarray
    programs: np.ndarray
    notes: tuple
    meta: dict


def _u(rng: np.random.Generator, bounds) -> float:
    lo, hi = bounds
    return float(rng.uniform(lo, hi))


#: Random stream (plus 3 x attempt) of the body resonances of an example's stems.
BODY_STREAM = 1000
#: Stream offset of the mono-legato draws (likewise: splits without legato render unchanged).
LEGATO_STREAM = 2000
#: Stream offset of the sustain-pedal draws (likewise).
PEDAL_STREAM = 3000
#: Stream offset of the per-stem intonation (detune) draws (likewise).
DETUNE_STREAM = 4000
#: Stream offset of the re-articulation draws (likewise).
REARTICULATE_STREAM = 5000
#: Stream offset of the accompaniment draws of score material (likewise).
ACCOMPANIMENT_STREAM = 6000
#: Stream offset of the weak-fundamental draws (likewise).
FUNDAMENTAL_STREAM = 7000
#: Random stream of the source-filter synthesizer (which stems use it, their voices, phases, noise).
SYNTH_STREAM = 8000


def example_rng(config: DataConfig, index: int, stream: int = 0) -> np.random.Generator:
    """The random stream ``stream`` of example ``index`` (independent of every other example)."""
    return np.random.default_rng([int(config.seed), int(index), int(stream)])


def example_duration(config: DataConfig, index: int) -> float:
    """Length of example ``index`` in seconds (cheap: used to plan a build of H hours)."""
    rng = example_rng(config, index, 1)
    return round(_u(rng, config.duration_s), 3)


def _choose_instruments(config: DataConfig, rng: np.random.Generator, n_inst: int) -> list[tuple[str, int]]:
    keys = sorted(config.soundfonts)
    sf_w = np.array([float(config.soundfonts[k].get("weight", 1.0)) for k in keys])
    chosen: list[tuple[str, int]] = []
    for _ in range(n_inst):
        key = keys[int(rng.choice(len(keys), p=sf_w / sf_w.sum()))]
        progs = list(config.soundfonts[key]["programs"])
        # A family weight is the family's total share: divide it among the family's programs.
        fams = [program_info(p).family for p in progs]
        w = np.array([config.family_weights.get(f, 1.0) / fams.count(f) for f in fams], float)
        for i, p in enumerate(progs):  # same program twice is possible (two violins) but rarer
            if any(p == q for _, q in chosen):
                w[i] *= 0.15
        chosen.append((key, int(progs[int(rng.choice(len(progs), p=w / w.sum()))])))
    return chosen


def _random_material(config, rng, instruments, duration_s) -> tuple[list[list[ScoreNote]], float]:
    """Random lines for the instruments and the beat length (seconds) they were written on."""
    perf = config.performance
    beat_s = 60.0 / _u(rng, perf["tempo_bpm"])
    lines: list[list[ScoreNote]] = []
    for k, (_, prog) in enumerate(instruments):
        info = program_info(prog)
        if k > 0 and rng.random() < perf["double_prob"]:
            # Doubling another instrument at unison / octave / twelfth: the hardest case for
            # harmonic ghost notes and timbre separation.
            src = int(rng.integers(0, k))
            iv = int(rng.choice(DOUBLING_INTERVALS))
            line = transpose_notes(lines[src], iv)
            if sum(info.low <= n.pitch <= info.high for n in line) < 0.6 * max(1, len(line)):
                line = fit_to_range(lines[src], low=info.low, high=info.high, rng=rng)
            lines.append(line)
            continue
        lines.append(
            random_line(
                rng,
                low=info.low,
                high=info.high,
                duration_s=duration_s,
                beat_s=beat_s,
                polyphonic=info.polyphonic,
                chord_prob=_u(rng, perf["chord_prob"]),
                rest_prob=_u(rng, perf["rest_prob"]),
                repeat_prob=_u(rng, perf["repeat_prob"]),
                legato_prob=_u(rng, perf["legato_prob"]),
                step_scale=_u(rng, perf["step_scale"]),
            )
        )
    return lines, beat_s


def _monophonic(notes: list[ScoreNote]) -> list[ScoreNote]:
    """Keep the highest note of notes sharing an onset (for monophonic instruments)."""
    top: dict[float, ScoreNote] = {}
    for n in notes:
        k = round(n.start_s, 6)
        if k not in top or n.pitch > top[k].pitch:
            top[k] = n
    return sorted(top.values(), key=lambda n: n.start_s)


def accompaniment_parts(
    lines: list[list[ScoreNote]], n_inst: int, rng: np.random.Generator
) -> list[list[ScoreNote]]:
    """Give score parts to ``n_inst`` instruments, instrument 0 accompanying the others.

    The parts are shuffled; instruments ``1..n_inst-1`` get one part each and instrument 0 (a
    polyphonic one: the piano's, organ's or guitar's hands) plays its own part plus every part left
    over, so the other instruments sound inside its voicing, as a soloist does inside a piano
    accompaniment. When no part is left over, instrument 0 also doubles one of the other parts
    (colla parte). Returns ``min(n_inst, len(lines))`` lists of notes sorted by onset.
    """
    if n_inst < 1:
        raise ParameterError("accompaniment needs at least one instrument")
    order = [int(k) for k in rng.permutation(len(lines))]
    n_own = min(n_inst, len(lines))
    out = [list(lines[k]) for k in order[:n_own]]
    if not out:
        return out
    extra = order[n_own:]
    if extra:
        for k in extra:
            out[0] += lines[k]
    elif n_own > 1:
        out[0] += out[int(rng.integers(1, n_own))]
    out[0].sort(key=lambda n: (n.start_s, n.pitch))
    return out


def _score_material(
    config, rng, instruments, duration_s, *, accompany_rng: np.random.Generator | None = None
) -> tuple[list[list[ScoreNote]], str, float, list[tuple[str, int]]] | None:
    """A corpus excerpt for the instruments; None if unusable.

    Returns ``(lines, score file, beat length in seconds, instruments playing them)``. With
    ``accompany_rng`` (the caller passes it only when ``instruments`` has a polyphonic one), the
    first polyphonic instrument comes first and accompanies the others
    (:func:`accompaniment_parts`); otherwise each instrument plays one part.
    """
    collections = config.score_collections
    if not collections:
        return None
    names = sorted(collections)
    w = np.array([float(collections[c]) for c in names])
    coll = names[int(rng.choice(len(names), p=w / w.sum()))]
    cands = corpus_mod.candidate_scores([coll])
    if not cands:
        return None
    accompanist = None
    if accompany_rng is not None:
        accompanist = next(i for i, (_, prog) in enumerate(instruments) if program_info(prog).polyphonic)
    for _attempt in range(3):
        path = cands[int(rng.integers(len(cands)))]
        try:
            parts = corpus_mod.load_parts(path)
        except ParameterError as exc:
            log.info("skipping %s: %s", path, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - unparsable corpus files are skipped
            # Once per file and process at warning level (Josquin's eight opuses fail on every draw).
            level = logging.DEBUG if path in _UNPARSABLE_REPORTED else logging.WARNING
            _UNPARSABLE_REPORTED.add(path)
            log.log(level, "could not parse %s (skipped; the draw moves on): %s", path, exc)
            continue
        if not parts:
            continue
        # Scores are a little slower than random material; Renaissance and Trecento scores are
        # written with the half note (or longer) as beat, so their quarter notes go twice as fast.
        qpm = (
            _u(rng, config.performance["tempo_bpm"]) * 0.85 * (2.0 if coll in ALLA_BREVE_COLLECTIONS else 1.0)
        )
        n_want = len(parts) if accompanist is not None else len(instruments)
        lines = corpus_mod.excerpt(parts, rng, n_parts=n_want, duration_s=duration_s, qpm=qpm)
        if not lines:
            continue
        if accompanist is not None:
            instruments = [instruments[accompanist]] + [x for i, x in enumerate(instruments) if i != accompanist]
            lines = accompaniment_parts(lines, len(instruments), accompany_rng)
        shift = int(rng.integers(-5, 7))
        out = []
        for line, (_, prog) in zip(lines, instruments):
            info = program_info(prog)
            line = transpose_notes(line, shift)
            if not info.polyphonic:
                line = _monophonic(line)
            out.append(fit_to_range(line, low=info.low, high=info.high, rng=rng))
        return out, path, 60.0 / qpm, list(instruments[: len(out)])
    return None


def make_example(config: DataConfig, index: int, *, attempt: int = 0) -> Example:
    """Render example ``index`` of the split described by ``config`` (deterministic).

    ``attempt`` > 0 (internal) re-draws the example from other random streams with random notes,
    used only when no stem of the first draw was audible.
    """
    if index < 0:
        raise ParameterError("example index must be >= 0")
    rng = example_rng(config, index, 3 * attempt)
    # Body resonances draw from their own stream, so splits without them render as before.
    body_rng = example_rng(config, index, BODY_STREAM + 3 * attempt)
    legato_rng = example_rng(config, index, LEGATO_STREAM + 3 * attempt)
    pedal_rng = example_rng(config, index, PEDAL_STREAM + 3 * attempt)
    detune_rng = example_rng(config, index, DETUNE_STREAM + 3 * attempt)
    reartic_rng = example_rng(config, index, REARTICULATE_STREAM + 3 * attempt)
    fundamental_rng = example_rng(config, index, FUNDAMENTAL_STREAM + 3 * attempt)
    synth_rng = example_rng(config, index, SYNTH_STREAM + 3 * attempt)
    perf, room = config.performance, config.room
    duration_s = example_duration(config, index)
    n_samples = int(round(duration_s * SAMPLE_RATE))
    nw = np.array(config.n_instruments_weights, float)
    n_inst = int(rng.choice(len(nw), p=nw / nw.sum())) + 1
    instruments = _choose_instruments(config, rng, n_inst)

    source, score_path = "random", None
    lines = None
    accompanied = False
    if rng.random() < config.score_ratio and attempt == 0:
        acc_rng = example_rng(config, index, ACCOMPANIMENT_STREAM)
        accompany = (
            config.score_accompaniment_prob > 0
            and acc_rng.random() < config.score_accompaniment_prob
            and any(program_info(prog).polyphonic for _, prog in instruments)
        )
        got = _score_material(config, example_rng(config, index, 2), instruments, duration_s,
                              accompany_rng=acc_rng if accompany else None)
        if got is not None:
            lines, score_path, beat_s, instruments = got
            source = "score"
            accompanied = accompany
    if lines is None:
        lines, beat_s = _random_material(config, rng, instruments, duration_s)

    stems, rolls, programs, notes_out, inst_meta = [], [], [], [], []
    frames = n_frames(n_samples)
    gains = []
    for line, (sf_key, prog) in zip(lines, instruments):
        info = program_info(prog)
        played = humanize(
            line,
            rng,
            base_velocity=_u(rng, perf["velocity"]),
            velocity_spread=_u(rng, perf["velocity_spread"]),
            timing_sd_s=_u(rng, perf["timing_sd_s"]),
            lag_s=_u(rng, perf["lag_s"]),
            beat_s=beat_s,
        )
        played = sanitize(played, low=info.low, high=info.high, duration_s=duration_s)
        if not played:
            continue
        rearticulated = perf["rearticulate_prob"] > 0 and reartic_rng.random() < perf["rearticulate_prob"]
        written = played
        if rearticulated:
            played = rearticulate(played, reartic_rng, gap_s=perf["rearticulate_gap_s"])
        legato = False
        if (perf["mono_legato_prob"] > 0 and not info.polyphonic and info.sustained
                and legato_rng.random() < perf["mono_legato_prob"]):
            slurred = mono_legato(played, join_gap_s=_u(legato_rng, perf["legato_join_s"]))
            if slurred is not None:
                played, legato = slurred, True
        pressed, pedal_events = played, []
        if perf["pedal_prob"] > 0 and info.family == "piano" and pedal_rng.random() < perf["pedal_prob"]:
            played, pedal_events = sustain_pedal(
                pressed, pedal_rng, change_prob=_u(pedal_rng, perf["pedal_change_prob"]),
                catch_s=_u(pedal_rng, perf["pedal_catch_s"]), duration_s=duration_s)
        vib_p = perf["vibrato_prob_sustained"] if info.sustained else perf["vibrato_prob_other"]
        swell_p = perf["swell_prob_sustained"] if info.sustained else perf["swell_prob_other"]
        vib = _u(rng, perf["vibrato_cents"]) if rng.random() < vib_p else 0.0
        vib_hz = _u(rng, perf["vibrato_hz"])
        wobble = _u(rng, perf["wobble_cents"]) if vib > 0 else 0.0
        swell = _u(rng, perf["swell_depth"]) if rng.random() < swell_p else 0.0
        expression = int(round(_u(rng, perf["expression"])))
        detune_max = perf["detune_cents"] if info.sustained else 0.0
        detune = _u(detune_rng, (-detune_max, detune_max)) if detune_max > 0 else 0.0
        controls = control_curves(
            rng,
            duration_s=duration_s,
            vibrato_cents=vib,
            vibrato_hz=vib_hz,
            wobble_cents=wobble,
            swell_depth=swell,
            expression=expression,
            detune_cents=detune,
        )
        if pedal_events:
            controls = sorted(controls + pedal_events, key=lambda e: e.time_s)
        synthesized = config.synth_prob > 0 and synth_rng.random() < config.synth_prob
        if synthesized:
            # A drawn source-filter instrument plays the sounding notes (pedal included) with the
            # stem's vibrato and detuning; the program still sets range, polyphony and envelope kind.
            voice = draw_voice(synth_rng, sustained=info.sustained)
            audio = render_synth_stem(played, voice, synth_rng, n_samples=n_samples, vibrato_cents=vib,
                                      vibrato_hz=vib_hz, detune_cents=detune)
        else:
            audio = render_stem(
                pressed, soundfont=find_soundfont(sf_key), program=prog, n_samples=n_samples,
                controls=controls, legato=legato,
            )
        n_body = 0
        if room["body_prob"] > 0 and body_rng.random() < room["body_prob"]:
            peaks = body_resonances(body_rng, n_peaks=room["body_peaks"], freq_hz=room["body_hz"],
                                    gain_db=room["body_gain_db"], q=room["body_q"])
            audio, n_body = body_eq(audio, peaks), len(peaks)
        cut_db, cut_hz = 0.0, 0.0
        if room["fundamental_cut_prob"] > 0 and fundamental_rng.random() < room["fundamental_cut_prob"]:
            # Cutoff half an octave above the fundamental of a pitch between the stem's lowest and
            # median note: those notes lose cut_db..cut_db/2 at f0, their second partials nothing.
            pitches = np.sort([n.pitch for n in pressed])
            pivot = fundamental_rng.uniform(pitches[0], pitches[len(pitches) // 2])
            cut_hz = float(midi_to_hz(pivot) * 2.0 ** 0.5)
            cut_db = _u(fundamental_rng, room["fundamental_cut_db"])
            audio = weaken_fundamentals(audio, cutoff_hz=cut_hz, depth_db=cut_db)
        level = rms(audio)
        if level < 1e-6:
            log.warning("example %d: silent stem (%s program %d); dropped", index, sf_key, prog)
            continue
        gain_db = _u(rng, room["gain_db"])
        tilt = _u(rng, config.family_tilt_db_per_octave.get(info.family, room["tilt_db_per_octave"]))
        audio = eq_tilt(audio / level * 0.1, db_per_octave=tilt, limit_db=config.tilt_limit_db) * 10.0 ** (gain_db / 20.0)
        labelled = played
        if rearticulated and perf["rearticulate_labels"] == "score":
            # The break is in the audio only; labels keep the written lengths, as score-aligned
            # annotations of real recordings do (a re-attack with no gap in the labels).
            labelled = restore_written_ends(played, written)
        stems.append(audio.astype(np.float32))
        rolls.append(notes_to_roll(labelled, n_frames=frames))
        programs.append(prog)
        notes_out.append(tuple(labelled))
        gains.append(gain_db)
        inst_meta.append(
            {
                "soundfont": sf_key,
                "synthesized": bool(synthesized),
                "program": prog,
                "name": info.name,
                "family": info.family,
                "n_notes": len(played),
                "gain_db": round(gain_db, 2),
                "tilt_db_per_octave": round(tilt, 2),
                "body_peaks": n_body,
                "fundamental_cut_db": round(cut_db, 2),
                "fundamental_cut_hz": round(cut_hz, 1),
                "mono_legato": legato,
                "rearticulated": bool(rearticulated),
                "pedal_changes": len(pedal_events) // 2,
                "vibrato_cents": round(vib, 1),
                "detune_cents": round(detune, 1),
                "vibrato_hz": round(vib_hz, 2),
                "wobble_cents": round(wobble, 1),
                "swell_depth": round(swell, 2),
                "expression": expression,
            }
        )
    if not stems:
        # Every stem empty or silent (possible with sparse score excerpts): fall back to random notes
        # of a derived index so the example still exists and stays deterministic.
        log.info("example %d had no audible stem; using fallback material", index)
        if attempt >= 3:
            raise ParameterError(f"example {index}: no audible stem after {attempt + 1} draws")
        return make_example(config, index, attempt=attempt + 1)

    stems_a = np.stack(stems)
    room_meta: dict[str, Any] = {"reverb": False, "noise": False}
    if rng.random() < room["reverb_prob"]:
        rt60, pre = _u(rng, room["rt60_s"]), _u(rng, room["predelay_s"])
        damping, wet = _u(rng, room["damping"]), _u(rng, room["wet"])
        ir = impulse_response(rng, rt60_s=rt60, predelay_s=pre, damping=damping)
        stems_a = add_reverb(stems_a, ir, wet=wet)
        room_meta.update(
            reverb=True,
            rt60_s=round(rt60, 3),
            predelay_s=round(pre, 4),
            damping=round(damping, 2),
            wet=round(wet, 3),
        )
    mix = stems_a.sum(axis=0)
    if rng.random() < room["noise_prob"]:
        snr, expo = _u(rng, room["snr_db"]), _u(rng, room["noise_exponent"])
        noise = colored_noise(rng, n_samples, exponent=expo) * rms(mix) * 10.0 ** (-snr / 20.0)
        mix = mix + noise
        room_meta.update(noise=True, snr_db=round(snr, 2), noise_exponent=round(expo, 2))
    peak_db = _u(rng, room["peak_dbfs"])
    scale = 10.0 ** (peak_db / 20.0) / (np.abs(mix).max() + 1e-9)
    mix = (mix * scale).astype(np.float32)
    stems_a = (stems_a * scale).astype(np.float32)
    room_meta["peak_dbfs"] = round(peak_db, 2)

    meta = {
        "index": int(index),
        "split": config.name,
        "seed": int(config.seed),
        "source": source,
        "score": score_path,
        "accompaniment": accompanied,
        "duration_s": duration_s,
        "samples": n_samples,
        "frames": frames,
        "n_instruments": len(stems),
        "programs": programs,
        "soundfonts": [m["soundfont"] for m in inst_meta],
        "synthesized": [m["synthesized"] for m in inst_meta],
        "instruments": inst_meta,
        "room": room_meta,
    }
    return Example(
        mix=mix,
        stems=stems_a,
        rolls=np.stack(rolls),
        programs=np.array(programs, np.int16),
        notes=tuple(notes_out),
        meta=meta,
    )
