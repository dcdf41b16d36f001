"""Torch-free shared code: constants, errors, audio I/O, chunking, note decoding, MIDI I/O."""
