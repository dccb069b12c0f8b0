"""Class labels for collage captions, as the release's shell scripts print them."""
from __future__ import annotations

from pathlib import Path


def read_labels(path: str | Path | None) -> dict[int, str]:
    """Unit → caption from a label list; {} when the file is absent (captions fall back to numbers).

    synset_words.txt ("n01440764 tench, Tinca tinca", unit = line number): the first synonym.
    categoryIndex_places205.txt ("art_gallery 8"): the name with '_' shown as a space, unit = the
    number. A plain list (one name per line): the line, unit = line number.
    """
    if path is None or not Path(path).is_file():
        return {}
    labels = {}
    for line_number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        words = line.strip().split()
        if not words:
            continue
        if words[0].startswith("n") and words[0][1:].isdigit() and len(words) > 1:
            labels[line_number] = line.strip().split(" ", 1)[1].split(",")[0].strip()
        elif len(words) == 2 and words[1].isdigit():
            labels[int(words[1])] = words[0].replace("_", " ")
        else:
            labels[line_number] = line.strip()
    return labels


def caption(labels: dict[int, str], unit: int) -> str:
    """The unit's label, else its number."""
    return labels.get(unit, str(unit))
