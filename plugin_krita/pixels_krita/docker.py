"""The PIXELS docker: connection, source, exemplars and their maps, settings, progress
with live previews of the progressive stages, and the history of results.

It only arranges widgets and routes signals: documents go through `document`, the
server through `jobs.Server`, results through `history`.
"""

from krita import DockWidget, Krita

from . import document, jobs, pixels
from .history import Entry, History
from .params import GREY_LAYER, MAP_AUTO, MAP_MASK, MAP_SELECTION, THRESHOLDS, Params
from .qt import Qt, QtCore, QtGui, QtWidgets

SETTINGS = "pixels_krita"
SPIN_SEED_MAX = 2**31 - 1  # a QSpinBox holds an int; the server's own draws go higher
POLL_MS = 1500  # Krita has no Python signal for layer changes: the layer list polls
PREVIEW_SIZE = 220
THUMB_SIZE = 64
MAP_LABELS = {
    MAP_AUTO: "Auto (from its alpha)",
    MAP_MASK: "Its transparency/selection mask",
    MAP_SELECTION: "The selection",
}
ROLE_ID = Qt.ItemDataRole.UserRole
W = QtWidgets


class PixelsDocker(DockWidget):
    def __init__(self):
        super().__init__()
        self.setWindowTitle("PIXELS")
        self.server = jobs.Server(setting("url", jobs.DEFAULT_URL), setting("token") or None)
        self.history = History()
        self.maps: dict[str, str] = {}  # exemplar layer id -> map choice
        self.ticked: set[str] = set()
        self.layer_key = None  # what the layer list shows, to rebuild it only on change
        self.running = None  # (document, Inputs, Params) of the edit under way

        root = W.QWidget()
        column = W.QVBoxLayout(root)
        column.addWidget(self.build_connection())
        column.addWidget(self.build_inputs())
        column.addWidget(self.build_settings())
        column.addWidget(self.build_run())
        column.addWidget(self.build_history())
        column.addStretch(1)
        scroll = W.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(root)
        self.setWidget(scroll)

        self.server.connected.connect(self.on_connected)
        self.server.queued.connect(lambda n: self.say(f"Queued (position {n})"))
        self.server.started.connect(lambda: self.say("Running"))
        self.server.progress.connect(self.on_progress)
        self.server.finished.connect(self.on_finished)
        self.server.cancelled.connect(self.on_cancelled)
        self.server.failed.connect(self.on_failed)
        self.server.offline.connect(self.on_offline)
        self.poll = QtCore.QTimer(self)
        self.poll.timeout.connect(self.refresh_layers)
        self.poll.start(POLL_MS)
        self.connect_server()

    # -- building ---------------------------------------------------------------------

    def build_connection(self):
        box = W.QGroupBox("Server")
        grid = W.QGridLayout(box)
        self.url = W.QLineEdit(setting("url", jobs.DEFAULT_URL))
        self.url.setToolTip("Address of `pixels serve`, e.g. 127.0.0.1:7860")
        self.connect_button = W.QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_server)
        self.status = W.QLabel("Connecting...")
        self.status.setWordWrap(True)
        grid.addWidget(self.url, 0, 0)
        grid.addWidget(self.connect_button, 0, 1)
        grid.addWidget(self.status, 1, 0, 1, 2)
        return box

    def build_inputs(self):
        box = W.QGroupBox("Source and exemplars")
        form = W.QFormLayout(box)
        self.source = W.QComboBox()
        self.source.addItem("Active layer", "layer")
        self.source.addItem("Visible image", "visible")
        self.source.setToolTip("The picture to edit; the result goes in a new layer above it")
        form.addRow("Source", self.source)
        self.exemplars = W.QListWidget()
        self.exemplars.setToolTip("Tick the layers whose content goes into the source")
        self.exemplars.setMinimumHeight(110)
        self.exemplars.setMaximumHeight(200)
        self.exemplars.itemChanged.connect(self.on_tick)
        self.exemplars.currentItemChanged.connect(self.show_map_choice)
        form.addRow(self.exemplars)
        self.map_choice = W.QComboBox()
        self.map_choice.setToolTip(
            "Where the selected exemplar goes in. Masks and the selection: opaque takes the "
            "exemplar. A grey layer is an edit map: black takes the exemplar, white keeps "
            "the source, grey levels come in over the steps."
        )
        self.map_choice.activated.connect(self.on_map_choice)
        form.addRow("Edit map", self.map_choice)
        self.transition = W.QSlider(Qt.Orientation.Horizontal)
        self.transition.setRange(0, 128)
        self.transition.setValue(32)
        transition_label = W.QLabel("32 px")
        self.transition.valueChanged.connect(lambda v: transition_label.setText(f"{v} px"))
        row = W.QHBoxLayout()
        row.addWidget(self.transition)
        row.addWidget(transition_label)
        form.addRow("Transition", row)
        return box

    def build_settings(self):
        box = W.QGroupBox("Settings")
        form = W.QFormLayout(box)
        self.prompt = W.QLineEdit()
        self.prompt.setPlaceholderText("optional: what the picture shows")
        form.addRow("Prompt", self.prompt)
        self.strength = W.QDoubleSpinBox()
        self.strength.setRange(0.05, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.6)
        form.addRow("Strength", self.strength)
        self.steps = W.QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(30)
        form.addRow("Steps", self.steps)
        self.seed = W.QSpinBox()
        self.seed.setRange(0, SPIN_SEED_MAX)
        self.random_seed = W.QCheckBox("Random")
        self.random_seed.setChecked(True)
        self.random_seed.toggled.connect(lambda on: self.seed.setEnabled(not on))
        self.seed.setEnabled(False)
        row = W.QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(self.random_seed)
        form.addRow("Seed", row)
        self.threshold = W.QComboBox()
        self.threshold.addItems(THRESHOLDS)
        self.threshold.setToolTip("When the grey levels of an edit map are released")
        form.addRow("Threshold", self.threshold)
        return box

    def build_run(self):
        box = W.QWidget()
        column = W.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        row = W.QHBoxLayout()
        self.generate_button = W.QPushButton("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = W.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.server.cancel)
        row.addWidget(self.generate_button, 1)
        row.addWidget(self.cancel_button)
        column.addLayout(row)
        self.progress = W.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Idle")
        column.addWidget(self.progress)
        self.message = W.QLabel()
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        self.preview = W.QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setVisible(False)
        column.addWidget(self.preview)
        return box

    def build_history(self):
        box = W.QGroupBox("History")
        column = W.QVBoxLayout(box)
        self.results = W.QListWidget()
        self.results.setIconSize(QtCore.QSize(THUMB_SIZE, THUMB_SIZE))
        self.results.setMinimumHeight(THUMB_SIZE + 12)
        column.addWidget(self.results)
        row = W.QHBoxLayout()
        self.again_button = W.QPushButton("Apply again")
        self.again_button.setToolTip("Add the selected result as a new layer")
        self.again_button.clicked.connect(self.apply_again)
        self.discard_button = W.QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard)
        row.addWidget(self.again_button)
        row.addWidget(self.discard_button)
        column.addLayout(row)
        return box

    # -- Krita ------------------------------------------------------------------------

    def canvasChanged(self, canvas):
        self.refresh_layers()

    def refresh_layers(self):
        """Rebuild the exemplar list when the document's layers changed."""
        doc = Krita.instance().activeDocument()
        entries = document.layers(doc) if doc is not None else []
        key = [(str(n.uniqueId()), n.name(), depth) for n, depth in entries]
        if key == self.layer_key:
            return
        self.layer_key = key
        current = self.exemplars.currentItem()
        current_id = current.data(ROLE_ID) if current is not None else None
        self.exemplars.blockSignals(True)
        self.exemplars.clear()
        for layer_id, name, depth in key:
            item = W.QListWidgetItem("    " * depth + name)
            item.setData(ROLE_ID, layer_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = layer_id in self.ticked
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.exemplars.addItem(item)
            if layer_id == current_id:
                self.exemplars.setCurrentItem(item)
        self.exemplars.blockSignals(False)
        self.show_map_choice()

    # -- inputs -----------------------------------------------------------------------

    def on_tick(self, item):
        layer_id = item.data(ROLE_ID)
        if item.checkState() == Qt.CheckState.Checked:
            self.ticked.add(layer_id)
        else:
            self.ticked.discard(layer_id)

    def show_map_choice(self, *_):
        """Offer the selected exemplar's map sources, its current one selected."""
        item = self.exemplars.currentItem()
        self.map_choice.clear()
        self.map_choice.setEnabled(item is not None)
        if item is None:
            return
        for choice, label in MAP_LABELS.items():
            self.map_choice.addItem(label, choice)
        for layer_id, name, _ in self.layer_key or []:
            if layer_id != item.data(ROLE_ID):
                self.map_choice.addItem(f"Grey layer: {name}", GREY_LAYER + layer_id)
        chosen = self.map_choice.findData(self.maps.get(item.data(ROLE_ID), MAP_AUTO))
        self.map_choice.setCurrentIndex(max(chosen, 0))

    def on_map_choice(self, index):
        item = self.exemplars.currentItem()
        if item is not None:
            self.maps[item.data(ROLE_ID)] = self.map_choice.itemData(index)

    def params(self) -> Params:
        return Params(
            prompt=self.prompt.text().strip(),
            strength=round(self.strength.value(), 3),
            steps=self.steps.value(),
            seed=None if self.random_seed.isChecked() else self.seed.value(),
            threshold=self.threshold.currentText(),
            transition=float(self.transition.value()),
        )

    def read_inputs(self, doc):
        source = None
        if self.source.currentData() == "layer":
            source = doc.activeNode()
            if source is None or not source.type().endswith("layer"):
                raise document.DocumentError(
                    "select a layer as the source, or use the visible image"
                )
        exemplars = []
        for node, _ in document.layers(doc):
            layer_id = str(node.uniqueId())
            if layer_id in self.ticked:
                exemplars.append((node, self.maps.get(layer_id, MAP_AUTO)))
        return document.read_inputs(doc, source, exemplars)

    # -- running ----------------------------------------------------------------------

    def connect_server(self):
        url = self.url.text().strip() or jobs.DEFAULT_URL
        Krita.instance().writeSetting(SETTINGS, "url", url)
        self.server.set_address(url, setting("token") or None)
        self.status.setText("Connecting...")
        self.server.connect_server()

    def generate(self):
        doc = Krita.instance().activeDocument()
        if doc is None:
            return self.fail("Open an image first")
        try:
            params = self.params()
            inputs = self.read_inputs(doc)
        except (document.DocumentError, ValueError) as e:
            return self.fail(str(e))
        self.running = (doc, inputs, params)
        self.set_running(True)
        self.say("Sending...")
        self.server.generate(inputs, params)

    def set_running(self, running: bool):
        self.generate_button.setEnabled(not running)
        self.connect_button.setEnabled(not running)  # reconnecting would drop the job
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first step
            self.progress.setFormat("Waiting for the server")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Idle")

    def on_connected(self, info):
        self.status.setStyleSheet("")
        self.status.setText(f"Connected to PIXELS {info.server}: {jobs.model_line(info)}")

    def on_progress(self, event):
        self.progress.setRange(0, event.total)
        self.progress.setValue(event.step)
        self.progress.setFormat(f"Step {event.step}/{event.total}, {event.eta:.0f} s left")
        if event.preview:
            image = QtGui.QImage.fromData(event.preview, "PNG")
            self.show_preview(image)

    def show_preview(self, image):
        pixmap = QtGui.QPixmap.fromImage(image).scaled(
            PREVIEW_SIZE,
            PREVIEW_SIZE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.preview.setPixmap(pixmap)
        self.preview.setVisible(True)

    def on_finished(self, result, rgba):
        doc, inputs, params = self.running
        self.running = None
        self.set_running(False)
        if doc not in Krita.instance().documents():
            return self.fail("The image was closed before the result came")
        params = params.with_seed(result.seed)
        entry = Entry(result.image, result.seed, params, doc, inputs.source_id)
        try:
            document.insert_result(doc, inputs.source_id, rgba, result.seed)
        except document.DocumentError as e:
            return self.fail(str(e))
        self.remember(entry)
        total = result.timings.get("total", 0.0)
        note = " (random weights: noise is expected)" if result.random_weights else ""
        self.say(f"Done in {total:.1f} s: seed {result.seed}{note}")

    def on_cancelled(self):
        self.running = None
        self.set_running(False)
        self.say("Cancelled; the image is unchanged")

    def on_failed(self, message):
        if self.running is not None:
            self.running = None
            self.set_running(False)
            self.fail(message + " The image is unchanged.")

    def on_offline(self, message):
        self.status.setStyleSheet("color: #d04040;")
        self.status.setText(message)

    def say(self, text):
        self.message.setStyleSheet("")
        self.message.setText(text)

    def fail(self, text):
        self.message.setStyleSheet("color: #d04040;")
        self.message.setText(text)

    # -- history ----------------------------------------------------------------------

    def remember(self, entry: Entry):
        image = QtGui.QImage.fromData(entry.png, "PNG")
        entry.thumbnail = QtGui.QIcon(QtGui.QPixmap.fromImage(image))
        self.history.add(entry)
        self.show_preview(image)
        self.results.clear()
        for e in self.history.entries:
            item = W.QListWidgetItem(e.thumbnail, f"seed {e.seed}\n{e.params.summary()}")
            item.setToolTip(e.params.summary())
            self.results.addItem(item)
        self.results.setCurrentRow(0)

    def selected_entry(self):
        row = self.results.currentRow()
        return (row, self.history[row]) if 0 <= row < len(self.history) else (None, None)

    def apply_again(self):
        row, entry = self.selected_entry()
        if entry is None:
            return
        if entry.document not in Krita.instance().documents():
            return self.fail("The image of that result is closed")
        _, _, rgba = pixels.decode_png(entry.png)
        try:
            document.insert_result(entry.document, entry.source_id, rgba, entry.seed)
        except document.DocumentError as e:
            return self.fail(str(e))
        self.say(f"Added seed {entry.seed} again")

    def discard(self):
        row, entry = self.selected_entry()
        if entry is not None:
            self.history.discard(row)
            self.results.takeItem(row)


def setting(name, default=""):
    return Krita.instance().readSetting(SETTINGS, name, default)
