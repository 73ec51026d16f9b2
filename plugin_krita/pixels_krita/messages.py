"""What the docker tells the artist besides errors (errors.py), Krita- and Qt-free."""


def quoted(names: list) -> str:
    return ", ".join(f"'{n}'" for n in names)


def applied(layer: str, hidden: list) -> str:
    """After Apply: the layer added and the exemplars hidden with it, by name."""
    if not hidden:
        return f"Added '{layer}'. Undo (Ctrl+Z) removes it."
    what = "exemplar" if len(hidden) == 1 else "exemplars"
    return (
        f"Added '{layer}' and hid the {what} {quoted(hidden)} so that it shows. Undo "
        "(Ctrl+Z) removes it and shows them again."
    )


def source(layer: str | None) -> str:
    """The source menu's first entry: the active layer, by name."""
    return f"Active layer: '{layer}'" if layer else "Active layer (none selected)"


def map_hint(layers: int) -> str:
    """What the empty edit map menu says: why it is empty, and what to do."""
    if not layers:
        return "No layers yet: open an image"
    return "Select an exemplar in the list above to choose its map"
