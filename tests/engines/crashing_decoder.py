"""A pHash whose decoding step kills its own process on one picture size, as a decoder
crashing in native code (a segfault) on a hostile file does.

No real image file crashes the decoders installed here, so the crash is made: the worker
process receives SIGSEGV, exactly as it would from a faulting C library. Imported by name
in the worker processes (the tests' folders are on their ``sys.path``)."""

from __future__ import annotations

import os
import signal

import numpy as np
from PIL import Image

from lookalike.methods.hashes import PHash

#: The size of the picture that "crashes the decoder".
POISON_SIZE = (333, 222)


class CrashingPHash(PHash):
    """pHash, except that preparing a picture of :data:`POISON_SIZE` ends the process."""

    grey = False  # decoded in colour, so the size is the file's own

    def prepare(self, image: Image.Image) -> np.ndarray:
        if image.size == POISON_SIZE:
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().prepare(image)
