"""PIXELS Studio for Krita: the PIXELS docker, talking to a local `pixels serve`.

Outside Krita (unit tests, packaging) the package imports without registering anything.
"""

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
