"""What the plug-in keeps: in the document, as annotations that Krita saves in the .kra
(its settings, its history, the recipe of each result layer), and in Krita's settings
(kritarc: the server's address and token, and the settings last used anywhere).
"""

import json

from krita import Krita

from . import document
from .history import History, Recipe
from .qt import QtCore

SECTION = "pixels_krita"  # in kritarc
SETTINGS = "pixels/settings"  # annotations of a document
HISTORY = "pixels/history"
LAYERS = "pixels/layers"
DESCRIPTION = "PIXELS Studio: {}"


def setting(name: str, default: str = "") -> str:
    return Krita.instance().readSetting(SECTION, name, default)


def write_setting(name: str, value: str) -> None:
    Krita.instance().writeSetting(SECTION, name, value)


def global_settings() -> dict:
    """The docker's settings as last used in any document."""
    return loads(setting("settings", "{}").encode())


def save_global_settings(settings: dict) -> None:
    write_setting("settings", json.dumps(settings))


def annotation(doc, name: str) -> bytes:
    return bytes(doc.annotation(name)) if name in doc.annotationTypes() else b""


def annotate(doc, name: str, data: bytes) -> None:
    doc.setAnnotation(name, DESCRIPTION.format(name), QtCore.QByteArray(data))


def document_settings(doc) -> dict:
    """The docker's settings as last used in this document ({} if never)."""
    return loads(annotation(doc, SETTINGS))


def save_document_settings(doc, settings: dict) -> None:
    annotate(doc, SETTINGS, json.dumps(settings).encode())


def history(doc) -> History:
    data = annotation(doc, HISTORY)
    return History.from_bytes(data) if data else History()


def save_history(doc, kept: History) -> None:
    annotate(doc, HISTORY, kept.to_bytes())


def layer_recipe(doc, layer_id: str) -> Recipe | None:
    """The recipe of a result layer, or None for any other layer."""
    found = loads(annotation(doc, LAYERS)).get(layer_id)
    return None if found is None else Recipe.from_json(found)


def remember_layer(doc, layer_id: str, recipe: Recipe) -> None:
    """Keep a result layer's recipe, dropping those of layers that are gone."""
    recipes = loads(annotation(doc, LAYERS))
    recipes = {k: v for k, v in recipes.items() if document.find(doc, k) is not None}
    recipes[layer_id] = recipe.to_json()
    annotate(doc, LAYERS, json.dumps(recipes).encode())


def loads(data: bytes) -> dict:
    """A JSON object written by this plug-in; {} for nothing or anything else."""
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
