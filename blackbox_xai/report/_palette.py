"""Colours of every figure and page, chosen to stay apart for colour-blind readers.

The signed colours are a red and a blue that differ mostly in lightness and in the
blue-yellow direction, the two cues protanopes, deuteranopes and tritanopes keep
(``tests/report/test_palette.py`` checks their distance under simulated colour-vision
deficiencies). Feature values use matplotlib's ``cividis``, a map designed to read the
same with and without red-green colour vision.
"""

from __future__ import annotations

#: Attributions that push the output up (red) and down (blue), as hex and RGB.
POSITIVE = "#c0392b"
NEGATIVE = "#2471a3"
POSITIVE_RGB = (192, 57, 43)
NEGATIVE_RGB = (36, 113, 163)
#: Neutral marks: base values, totals, grouped features, text.
NEUTRAL = "#7f7f7f"
INK = "#222222"
#: Sequential map of feature values (low to high) in beeswarm and dependence plots.
VALUE_CMAP = "cividis"
#: The anchor highlight (a yellow, distinct from both signed colours).
ANCHOR = "#f5c542"


def signed(value: float) -> str:
    """The colour of an attribution's sign."""
    return POSITIVE if value > 0 else NEGATIVE
