"""PIXELS Studio for Krita: the PIXELS docker, talking to a local `pixels serve`.

Outside Krita (unit tests, packaging) the package imports without registering anything.
The client and the edit contract it carries (pixels_client, pixels_contract) are
imported by their own names, as in GIMP and the server: this folder goes on sys.path.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.append(HERE)

try:
    from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita
except ImportError:
    Krita = None

DOCKER_ID = "pixels_docker"

if Krita is not None:
    from .docker import PixelsDocker

    Krita.instance().addDockWidgetFactory(
        DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockPosition.DockRight, PixelsDocker)
    )
