"""General MIDI program facts: names, families and playable ranges of the pitched programs.

Ranges are MIDI note numbers (inclusive), approximate playable/sounding ranges of the real
instrument (or a musically sensible range for synthetic programs), always clipped to
``MIDI_MIN .. MIDI_MAX`` so that every rendered note is a transcribable target.
Programs absent from :data:`GM_PROGRAMS` (drums-like, sound effects, multi-pitch patches such as
"Lead 7 (fifths)", "Guitar Harmonics" and the drawbar/percussive/rock organs whose 16' and 5 1/3'
ranks make the labelled pitch ambiguous) are never used. Upper limits were lowered where a
rendering audit (``python -m septimbre.data audit-soundfonts``) found silent or badly pitched top
notes in one of the Debian soundfonts (e.g. FluidR3 contrabass above 55, harps above 96).
"""

from __future__ import annotations

from dataclasses import dataclass

from septimbre.utils.constants import MIDI_MAX, MIDI_MIN


@dataclass(frozen=True)
class ProgramInfo:
    """One pitched General MIDI program.

    Attributes
    ----------
    program : int
        GM program number, 0..127.
    name : str
        GM name.
    family : str
        Coarse family used for sampling weights (``"brass"``, ``"reed"``, ``"strings"`` ...).
    low, high : int
        Playable range, MIDI notes inclusive, already clipped to MIDI_MIN..MIDI_MAX.
    polyphonic : bool
        Whether the generator may give this instrument chords.
    sustained : bool
        Whether the instrument can hold a note (bowed, blown, organ); such stems get vibrato
        and volume swells more often.
    """

    program: int
    name: str
    family: str
    low: int
    high: int
    polyphonic: bool
    sustained: bool


# (program, name, family, low, high, polyphonic, sustained)
_TABLE = [
    (0, "Acoustic Grand Piano", "piano", 21, 104, True, False),
    (1, "Bright Acoustic Piano", "piano", 21, 104, True, False),
    (2, "Electric Grand Piano", "piano", 21, 104, True, False),
    (3, "Honky-tonk Piano", "piano", 21, 104, True, False),
    (4, "Electric Piano 1", "piano", 28, 103, True, False),
    (5, "Electric Piano 2", "piano", 28, 103, True, False),
    (6, "Harpsichord", "piano", 29, 89, True, False),
    (7, "Clavinet", "piano", 29, 89, True, False),
    (8, "Celesta", "chromatic_percussion", 60, 108, True, False),
    (9, "Glockenspiel", "chromatic_percussion", 79, 108, False, False),
    (10, "Music Box", "chromatic_percussion", 60, 96, True, False),
    (11, "Vibraphone", "chromatic_percussion", 53, 89, True, False),
    (12, "Marimba", "chromatic_percussion", 45, 96, True, False),
    (13, "Xylophone", "chromatic_percussion", 65, 108, False, False),
    (14, "Tubular Bells", "chromatic_percussion", 60, 77, False, False),
    (15, "Dulcimer", "chromatic_percussion", 48, 84, True, False),
    (19, "Church Organ", "organ", 24, 90, True, True),
    (20, "Reed Organ", "organ", 36, 96, True, True),
    (21, "Accordion", "organ", 41, 84, True, True),
    (22, "Harmonica", "organ", 60, 84, False, True),
    (23, "Tango Accordion", "organ", 41, 84, True, True),
    (24, "Acoustic Guitar (nylon)", "guitar", 40, 83, True, False),
    (25, "Acoustic Guitar (steel)", "guitar", 40, 83, True, False),
    (26, "Electric Guitar (jazz)", "guitar", 40, 86, True, False),
    (27, "Electric Guitar (clean)", "guitar", 40, 86, True, False),
    (28, "Electric Guitar (muted)", "guitar", 40, 79, True, False),
    (29, "Overdriven Guitar", "guitar", 40, 86, True, True),
    (30, "Distortion Guitar", "guitar", 40, 86, True, True),
    (32, "Acoustic Bass", "bass", 28, 55, False, False),
    (33, "Electric Bass (finger)", "bass", 28, 60, False, False),
    (34, "Electric Bass (pick)", "bass", 28, 60, False, False),
    (35, "Fretless Bass", "bass", 28, 60, False, True),
    (36, "Slap Bass 1", "bass", 28, 60, False, False),
    (37, "Slap Bass 2", "bass", 28, 60, False, False),
    (38, "Synth Bass 1", "bass", 24, 60, False, False),
    (39, "Synth Bass 2", "bass", 24, 60, False, False),
    (40, "Violin", "strings", 55, 96, False, True),
    (41, "Viola", "strings", 48, 88, False, True),
    (42, "Cello", "strings", 36, 76, False, True),
    (43, "Contrabass", "strings", 28, 55, False, True),
    (44, "Tremolo Strings", "strings", 28, 96, True, True),
    (45, "Pizzicato Strings", "strings", 28, 88, True, False),
    (46, "Orchestral Harp", "strings", 24, 96, True, False),
    (48, "String Ensemble 1", "ensemble", 28, 96, True, True),
    (49, "String Ensemble 2", "ensemble", 28, 96, True, True),
    (50, "Synth Strings 1", "ensemble", 36, 96, True, True),
    (51, "Synth Strings 2", "ensemble", 36, 96, True, True),
    (52, "Choir Aahs", "ensemble", 40, 84, True, True),
    (53, "Voice Oohs", "ensemble", 40, 84, True, True),
    (54, "Synth Voice", "ensemble", 40, 84, True, True),
    (56, "Trumpet", "brass", 54, 86, False, True),
    (57, "Trombone", "brass", 34, 72, False, True),
    (58, "Tuba", "brass", 28, 58, False, True),
    (59, "Muted Trumpet", "brass", 54, 82, False, True),
    (60, "French Horn", "brass", 34, 77, False, True),
    (61, "Brass Section", "brass", 34, 84, True, True),
    (62, "Synth Brass 1", "brass", 36, 84, True, True),
    (63, "Synth Brass 2", "brass", 36, 84, True, True),
    (64, "Soprano Sax", "reed", 56, 87, False, True),
    (65, "Alto Sax", "reed", 49, 81, False, True),
    (66, "Tenor Sax", "reed", 44, 76, False, True),
    (67, "Baritone Sax", "reed", 36, 69, False, True),
    (68, "Oboe", "reed", 58, 91, False, True),
    (69, "English Horn", "reed", 52, 81, False, True),
    (70, "Bassoon", "reed", 34, 75, False, True),
    (71, "Clarinet", "reed", 50, 91, False, True),
    (72, "Piccolo", "pipe", 74, 108, False, True),
    (73, "Flute", "pipe", 60, 96, False, True),
    (74, "Recorder", "pipe", 60, 96, False, True),
    (75, "Pan Flute", "pipe", 60, 96, False, True),
    (76, "Blown Bottle", "pipe", 60, 96, False, True),
    (77, "Shakuhachi", "pipe", 55, 84, False, True),
    (78, "Whistle", "pipe", 72, 96, False, True),
    (79, "Ocarina", "pipe", 60, 84, False, True),
    (80, "Lead 1 (square)", "synth_lead", 36, 90, False, True),
    (81, "Lead 2 (sawtooth)", "synth_lead", 36, 90, False, True),
    (82, "Lead 3 (calliope)", "synth_lead", 48, 90, False, True),
    (83, "Lead 4 (chiff)", "synth_lead", 48, 90, False, True),
    (84, "Lead 5 (charang)", "synth_lead", 40, 88, False, True),
    (85, "Lead 6 (voice)", "synth_lead", 48, 84, False, True),
    (87, "Lead 8 (bass + lead)", "synth_lead", 28, 72, False, True),
    (88, "Pad 1 (new age)", "synth_pad", 36, 88, True, True),
    (89, "Pad 2 (warm)", "synth_pad", 36, 88, True, True),
    (90, "Pad 3 (polysynth)", "synth_pad", 36, 88, True, True),
    (91, "Pad 4 (choir)", "synth_pad", 40, 84, True, True),
    (92, "Pad 5 (bowed)", "synth_pad", 36, 88, True, True),
    (104, "Sitar", "ethnic", 48, 77, False, False),
    (105, "Banjo", "ethnic", 48, 84, True, False),
    (106, "Shamisen", "ethnic", 50, 79, False, False),
    (107, "Koto", "ethnic", 55, 91, True, False),
    (108, "Kalimba", "ethnic", 48, 84, True, False),
    (110, "Fiddle", "ethnic", 55, 96, False, True),
    (111, "Shanai", "ethnic", 60, 84, False, True),
]

#: Pitched GM programs usable as training instruments, keyed by program number.
GM_PROGRAMS: dict[int, ProgramInfo] = {
    p: ProgramInfo(p, name, fam, max(lo, MIDI_MIN), min(hi, MIDI_MAX), poly, sus)
    for p, name, fam, lo, hi, poly, sus in _TABLE
}


def program_info(program: int) -> ProgramInfo:
    """The :class:`ProgramInfo` of a usable pitched GM program (KeyError for excluded ones)."""
    return GM_PROGRAMS[int(program)]
