"""The Qt binding Krita runs: PyQt6 in Krita 6, PyQt5 in Krita 5.

The rest of the plug-in imports Qt only from here and spells enums fully scoped
(`Qt.AlignmentFlag.AlignLeft`), which both bindings accept. The binding Krita already
loaded wins: importing the other one would put two Qt versions in one process.
"""

import sys

if "PyQt5" in sys.modules:
    from PyQt5 import QtCore, QtGui, QtWidgets
    from PyQt5.QtCore import pyqtSignal
else:
    try:
        from PyQt6 import QtCore, QtGui, QtWidgets
        from PyQt6.QtCore import pyqtSignal
    except ImportError:
        from PyQt5 import QtCore, QtGui, QtWidgets
        from PyQt5.QtCore import pyqtSignal

Qt = QtCore.Qt

__all__ = ["Qt", "QtCore", "QtGui", "QtWidgets", "pyqtSignal"]
