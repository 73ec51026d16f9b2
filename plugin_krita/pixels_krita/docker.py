"""The PIXELS docker: the source, the exemplars and their maps, the edit's controls (built
from the schema), generate with variations, progress with live previews, the document's
history of results to preview and apply, the settings of a result layer, and the server
with its model menu.

It arranges widgets and routes signals only: documents go through `document` and
`edits`, the server through `client.BackgroundClient`, what is kept through `store`,
what it holds per document through `state`, messages through `errors` and `messages`.
"""

from krita import DockWidget, Krita

from pixels_client import ServerUnavailable
from pixels_contract import schema

from . import document, edits, errors, messages, pixels, store
from .client import DEFAULT_URL, BackgroundClient
from .controls import Controls, compact, narrow
from .history import Entry, Recipe
from .qt import Qt, QtCore, QtGui, QtWidgets
from .state import DocState, Hidden, Note

POLL_MS = 1500  # Krita has no Python signal for layer changes: the docker polls
PREVIEW_SIZE = 240
THUMB_SIZE = 56
MAX_VARIATIONS = 8
SCROLL_LINES = 6  # the least of the scrolled part shown: the source and the first exemplars
LIST_ROWS = (3, 8)  # rows the exemplar list shows: at least, at most (then it scrolls)
HISTORY_ROWS = (1, 4)
SOURCES = (("layer", "Active layer"), ("visible", "Visible image"))
MAP_LABELS = {
    document.MAP_AUTO: "Auto (from its alpha)",
    document.MAP_MASK: "Its transparency/selection mask",
    document.MAP_SELECTION: "The selection",
}
ROLE_ID = Qt.ItemDataRole.UserRole
RED = "color: #d04040;"
NOTHING_CHANGED = (
    "The edit changed nothing visible (the exemplars lie over empty parts of the source, or "
    "the maps keep everything): nothing was added to the history."
)
W = QtWidgets


class Run:
    """The request under way: its document, what it read, how, and what came back."""

    def __init__(self, doc, inputs, recipe: Recipe, want: str, count: int):
        self.doc, self.inputs, self.recipe, self.want = doc, inputs, recipe, want
        self.count = count  # variations asked for
        self.seeds: list[int] = []  # of the results kept
        self.unchanged = 0  # results that changed nothing visible
        self.problem = ""  # why it failed, in the docker's words
        self.cancelled = self.mapped = False
        self.began = QtCore.QElapsedTimer()
        self.began.start()


class PixelsDocker(DockWidget):
    def __init__(self):
        super().__init__()
        self.setWindowTitle("PIXELS")
        url, token = store.setting("url", DEFAULT_URL), store.setting("token")
        self.client = BackgroundClient(url, token or None)
        self.controls = Controls()
        self.states: list[DocState] = []
        self.state = None  # the active document's
        self.run = None
        self.layer_key = None  # what the layer list shows, to rebuild it only on change
        self.online = False  # the server answered and the connection holds
        self.connecting = False
        self.retry = False  # reconnect on its own: the connection was lost

        # Krita's default workspace gives a new docker a narrow strip under the others:
        # the status and Generate with its progress stay in view, the rest scrolls (rows
        # too wide put their field under their label), and the docker asks for room
        # enough to show the source and the first exemplars too.
        self.status = W.QLabel("Connecting...")
        self.status.setWordWrap(True)
        panel = W.QWidget()
        column = W.QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.build_inputs())
        column.addWidget(self.build_tabs())
        column.addWidget(self.build_history())
        column.addWidget(self.build_result_layer())
        column.addStretch(1)
        scroll = W.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(W.QFrame.Shape.NoFrame)
        scroll.setWidget(panel)
        # As wide as the docker, never wider: form rows that do not fit put their field
        # under their label (their reported minimum is the unwrapped one).
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel.setMinimumWidth(1)
        scroll.setMinimumHeight(SCROLL_LINES * self.fontMetrics().lineSpacing())
        root = W.QWidget()
        pinned = W.QVBoxLayout(root)
        pinned.setContentsMargins(2, 2, 2, 2)
        pinned.addWidget(self.status)
        pinned.addWidget(self.build_run())
        pinned.addWidget(scroll, 1)
        self.setWidget(root)
        self.apply_settings(store.global_settings())

        c = self.client
        c.connected.connect(self.on_connected)
        c.offline.connect(self.on_offline)
        c.models.connect(self.on_models)
        c.loading.connect(self.on_loading)
        c.queued.connect(lambda i, n: self.report(f"{self.which(i)}Queued (position {n})"))
        c.started.connect(lambda i: self.report(f"{self.which(i)}Running"))
        c.progress.connect(self.on_progress)
        c.finished.connect(self.on_finished)
        c.mapped.connect(self.on_mapped)
        c.cancelled.connect(self.on_cancelled)
        c.failed.connect(self.on_failed)
        c.ended.connect(self.on_ended)
        self.poll = QtCore.QTimer(self)
        self.poll.timeout.connect(self.refresh)
        self.poll.start(POLL_MS)
        self.connect_server()

    # -- building ---------------------------------------------------------------------

    def build_inputs(self):
        box = W.QWidget()
        form = compact(W.QFormLayout(box))
        form.setContentsMargins(0, 0, 0, 0)
        self.source = narrow(W.QComboBox())
        for value, label in SOURCES:
            self.source.addItem(label, value)
        self.source.setToolTip(
            "The picture to edit: the active layer (the result goes right above it, with "
            "its opacity, blend mode and masks) or the visible image (the result goes on top)"
        )
        form.addRow("Source", self.source)
        self.use_selection = W.QCheckBox("Limit to the selection")
        self.use_selection.setToolTip(
            "Outside the active selection nothing changes; untick to ignore the selection"
        )
        form.addRow(self.use_selection)
        self.exemplars = W.QListWidget()
        self.exemplars.setToolTip("Tick the layers whose content goes into the source")
        self.exemplars.itemChanged.connect(self.on_tick)
        self.exemplars.currentItemChanged.connect(self.show_map_choice)
        form.addRow("Exemplars", self.exemplars)
        self.map_choice = narrow(W.QComboBox())
        self.map_choice.setToolTip(
            "Where the selected exemplar goes in. Masks and the selection: opaque takes the "
            f"exemplar. A grey layer is an edit map: {schema.MAP_CONVENTION}."
        )
        self.map_choice.activated.connect(self.on_map_choice)
        self.map_button = text_button("Show")
        self.map_button.setToolTip("Show the edit map this edit would use (black changes most)")
        self.map_button.clicked.connect(self.show_map)
        row = W.QHBoxLayout()
        row.addWidget(self.map_choice, 1)
        row.addWidget(self.map_button)
        form.addRow("Edit map", row)
        return box

    def build_tabs(self):
        tabs = W.QTabWidget()
        tabs.setUsesScrollButtons(True)
        for title, page in self.controls.pages():
            tabs.addTab(page, title)
        tabs.addTab(self.build_server(), "Server")
        return tabs

    def build_server(self):
        page = W.QWidget()
        form = compact(W.QFormLayout(page))
        self.url = W.QLineEdit(store.setting("url", DEFAULT_URL))
        self.url.setToolTip("Address of the PIXELS server (pixels serve), e.g. 127.0.0.1:7860")
        form.addRow("Address", self.url)
        self.token = W.QLineEdit(store.setting("token"))
        self.token.setEchoMode(W.QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("only if the server was given one")
        self.token.setToolTip("The token the server was started with (kept in kritarc)")
        form.addRow("Token", self.token)
        self.connect_button = W.QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_server)
        form.addRow(self.connect_button)
        row = W.QHBoxLayout()
        self.model = narrow(W.QComboBox())
        self.model.setEditable(True)
        self.model.setToolTip("The server's models; type a Hugging Face id or a path for others")
        self.load_button = text_button("Load")
        self.load_button.clicked.connect(self.load_model)
        row.addWidget(self.model, 1)
        row.addWidget(self.load_button)
        form.addRow("Model", row)
        self.model_state = W.QLabel()
        self.model_state.setWordWrap(True)
        form.addRow(self.model_state)
        return page

    def build_run(self):
        box = W.QWidget()
        column = W.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        row = W.QHBoxLayout()
        self.variations = W.QSpinBox()
        self.variations.setRange(1, MAX_VARIATIONS)
        self.variations.setPrefix("x ")
        self.variations.setToolTip("Variations: this many results in one go, one seed each")
        self.generate_button = W.QPushButton("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = W.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.client.cancel)
        row.addWidget(self.variations)
        row.addWidget(self.generate_button, 1)
        row.addWidget(self.cancel_button)
        column.addLayout(row)
        self.progress = W.QProgressBar()  # shown while an edit runs
        self.progress.setVisible(False)
        column.addWidget(self.progress)
        self.message = W.QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        column.addWidget(self.message)
        return box

    def build_history(self):
        box = W.QGroupBox("History")
        column = W.QVBoxLayout(box)
        self.preview = W.QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setVisible(False)
        column.addWidget(self.preview)
        self.results = W.QListWidget()
        self.results.setIconSize(QtCore.QSize(THUMB_SIZE, THUMB_SIZE))
        self.results.setWordWrap(True)
        self.results.currentRowChanged.connect(self.preview_entry)
        self.results.itemDoubleClicked.connect(lambda _: self.apply_entry())
        column.addWidget(self.results)
        self.apply_button = text_button("Apply")
        self.apply_button.setToolTip("Add the selected result as a layer above its source")
        self.apply_button.clicked.connect(self.apply_entry)
        self.use_button = text_button("Use settings")
        self.use_button.setToolTip("Put the selected result's settings (and seed) back")
        self.use_button.clicked.connect(self.use_entry)
        self.discard_button = text_button("Discard")
        self.discard_button.clicked.connect(self.discard)
        label, help_text = schema.HIDE_EXEMPLARS
        self.hide_exemplars = W.QCheckBox(label)
        self.hide_exemplars.setToolTip(help_text)
        self.hide_exemplars.setChecked(True)
        for pair in (
            (self.apply_button, self.hide_exemplars),
            (self.use_button, self.discard_button),
        ):
            row = W.QHBoxLayout()  # two short rows fit a narrow docker
            for widget in pair:
                row.addWidget(widget)
            column.addLayout(row)
        return box

    def build_result_layer(self):
        self.result_layer = W.QGroupBox("Result layer")
        column = W.QVBoxLayout(self.result_layer)
        self.result_label = W.QLabel()
        self.result_label.setWordWrap(True)
        column.addWidget(self.result_label)
        row = W.QHBoxLayout()
        self.layer_use_button = W.QPushButton("Use its settings")
        self.layer_use_button.setToolTip("Put the settings this layer was made with back")
        self.layer_use_button.clicked.connect(lambda: self.use_layer(run=False))
        self.again_button = W.QPushButton("Run again")
        self.again_button.setToolTip(
            "Edit its source again with its settings (its seed too: tick Random for a new one)"
        )
        self.again_button.clicked.connect(lambda: self.use_layer(run=True))
        row.addWidget(self.layer_use_button)
        row.addWidget(self.again_button)
        column.addLayout(row)
        self.result_layer.setVisible(False)
        return self.result_layer

    # -- documents ------------------------------------------------------------------------

    def canvasChanged(self, canvas):
        self.refresh()

    def state_of(self, doc):
        """The DocState of an open document (made on first sight), or None."""
        if doc is None:
            return None
        open_docs = Krita.instance().documents()
        self.states = [s for s in self.states if s.doc in open_docs]
        found = next((s for s in self.states if s.doc == doc), None)
        if found is None and doc in open_docs:
            found = DocState(doc, store.history(doc), store.document_settings(doc))
            self.states.append(found)
        return found

    def refresh(self):
        """Follow the active document and its layers."""
        state = self.state_of(Krita.instance().activeDocument())
        if state is not self.state:
            self.switch(state)
        self.refresh_layers()
        self.show_result_layer()
        self.follow_results()
        self.watch_server()

    def switch(self, state):
        """Show another document's settings, exemplars, history and preview."""
        if self.state is not None:
            self.state.settings.update(self.settings())
        self.state = state
        self.layer_key = None
        if state is not None:
            self.apply_settings(state.settings or store.global_settings())
        self.show_history()
        self.show_preview(None if state is None else state.preview)
        self.show_note()
        self.show_progress()

    def refresh_layers(self):
        """Rebuild the exemplar list when the document's layers changed."""
        doc = None if self.state is None else self.state.doc
        entries = document.layers(doc) if doc is not None else []
        key = [(document.uid(n), n.name(), depth) for n, depth in entries]
        active = doc.activeNode() if doc is not None else None
        named = active.name() if active is not None and active.type().endswith("layer") else None
        self.source.setItemText(0, messages.source(named))
        if key == self.layer_key:
            return
        self.layer_key = key
        current = self.exemplars.currentItem()
        current_id = current.data(ROLE_ID) if current is not None else None
        ticked = self.state.ticked if self.state is not None else set()
        self.exemplars.blockSignals(True)
        self.exemplars.clear()
        for layer_id, name, depth in key:
            item = W.QListWidgetItem("    " * depth + name)
            item.setData(ROLE_ID, layer_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = layer_id in ticked
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.exemplars.addItem(item)
            if layer_id == current_id:
                self.exemplars.setCurrentItem(item)
        self.exemplars.blockSignals(False)
        fit_rows(self.exemplars, len(key), LIST_ROWS)
        self.show_map_choice()

    def show_result_layer(self):
        """Offer a result layer's settings while it is the active layer."""
        recipe = self.active_recipe()
        self.result_layer.setVisible(recipe is not None)
        if recipe is not None:
            node = self.state.doc.activeNode()
            self.result_label.setText(f"'{node.name()}': {recipe.summary()}")

    def active_recipe(self):
        if self.state is None:
            return None
        node = self.state.doc.activeNode()
        return None if node is None else store.layer_recipe(self.state.doc, document.uid(node))

    # -- inputs and settings ----------------------------------------------------------------

    def on_tick(self, item):
        if self.state is None:
            return
        layer_id = item.data(ROLE_ID)
        if item.checkState() == Qt.CheckState.Checked:
            self.state.ticked.add(layer_id)
        else:
            self.state.ticked.discard(layer_id)

    def show_map_choice(self, *_):
        """Offer the selected exemplar's map sources, its current one selected."""
        item = self.exemplars.currentItem()
        self.map_choice.clear()
        self.map_choice.setEnabled(item is not None and self.state is not None)
        if item is None or self.state is None:
            self.map_choice.addItem(messages.map_hint(len(self.layer_key or [])))
            return
        for choice, label in MAP_LABELS.items():
            self.map_choice.addItem(label, choice)
        for layer_id, name, _ in self.layer_key or []:
            if layer_id != item.data(ROLE_ID):
                self.map_choice.addItem(f"Grey layer: {name}", document.GREY_LAYER + layer_id)
        chosen = self.map_choice.findData(
            self.state.maps.get(item.data(ROLE_ID), document.MAP_AUTO)
        )
        self.map_choice.setCurrentIndex(max(chosen, 0))

    def on_map_choice(self, index):
        item = self.exemplars.currentItem()
        if item is not None and self.state is not None:
            self.state.maps[item.data(ROLE_ID)] = self.map_choice.itemData(index)

    def settings(self) -> dict:
        """The docker's settings, as kept in a document and in kritarc."""
        settings = {
            "params": self.controls.values(),
            "source": self.source.currentData(),
            "use_selection": self.use_selection.isChecked(),
            "variations": self.variations.value(),
            "hide_exemplars": self.hide_exemplars.isChecked(),
        }
        if self.state is not None:
            settings.update(ticked=sorted(self.state.ticked), maps=self.state.maps)
        return settings

    def apply_settings(self, settings: dict):
        self.controls.set_values(settings.get("params", {}))
        self.source.setCurrentIndex(max(self.source.findData(settings.get("source")), 0))
        self.use_selection.setChecked(bool(settings.get("use_selection", True)))
        self.variations.setValue(int(settings.get("variations", 1)))
        self.hide_exemplars.setChecked(bool(settings.get("hide_exemplars", True)))

    def remember_settings(self):
        settings = self.settings()
        self.state.settings = settings
        store.save_document_settings(self.state.doc, settings)
        store.save_global_settings(
            {k: v for k, v in settings.items() if k not in ("ticked", "maps")}
        )

    def recipe(self) -> Recipe:
        """What the docker's controls ask for; schema.Invalid or DocumentError if it
        cannot be run as it is."""
        params = self.controls.read()
        doc = self.state.doc
        # Bottom first: where exemplars overlap, the later one wins, as layers stack.
        stack = reversed(self.layer_key or [])
        ids = [layer_id for layer_id, _, _ in stack if layer_id in self.state.ticked]
        exemplars = tuple((i, self.state.maps.get(i, document.MAP_AUTO)) for i in ids)
        source = None
        if self.source.currentData() == "layer":
            node = doc.activeNode()
            if node is None or not node.type().endswith("layer"):
                raise errors.DocumentError("Select the layer to edit in the Layers docker.")
            source = document.uid(node)
            if source in ids:
                raise errors.DocumentError(
                    f"'{node.name()}' is the source and a ticked exemplar: untick it, or "
                    "select the layer to edit."
                )
        return Recipe(params, source, exemplars, self.use_selection.isChecked())

    def use(self, recipe: Recipe, what: str):
        """Put a recipe back into the docker: its settings, source layer and exemplars."""
        self.controls.set_values(recipe.params)
        self.use_selection.setChecked(recipe.use_selection)
        self.source.setCurrentIndex(
            self.source.findData("visible" if recipe.source is None else "layer")
        )
        source = document.find(self.state.doc, recipe.source)
        if source is not None:
            self.state.doc.setActiveNode(source)
        self.state.ticked = {i for i, _ in recipe.exemplars}
        self.state.maps.update(dict(recipe.exemplars))
        self.layer_key = None
        self.refresh_layers()
        self.say(f"The settings of {what} are back in the docker.")

    # -- running ------------------------------------------------------------------------

    def generate(self):
        self.start(self.variations.value(), "edit")

    def show_map(self):
        self.start(1, "map")

    def start(self, count: int, want: str, recipe: Recipe | None = None):
        """Read the document and send the request: `count` variations of an edit, or
        its map. Problems are shown in the docker; the document is never changed."""
        if self.client.busy:
            return self.fail("An edit is running: wait for it, or cancel it.")
        if self.state is None:
            return self.fail("Open an image first.")
        try:
            recipe = recipe or self.recipe()
            inputs = edits.read(self.state.doc, recipe)
            family = self.controls.family
            variations = [edits.wire(p, family) for p in edits.variations(recipe.params, count)]
        except (errors.DocumentError, schema.Invalid) as e:
            return self.fail(self.describe(e))
        self.remember_settings()
        self.run = Run(self.state.doc, inputs, recipe, want, count)
        self.set_running(True)
        level = 0 if self.client.local else 1
        self.client.edit(
            lambda: edits.request(inputs, recipe.params, level, family, self.client.map_of),
            variations,
            want,
        )

    def set_running(self, running: bool):
        self.generate_button.setEnabled(not running)
        self.map_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setRange(0, 0)
        self.progress.setValue(0)
        self.progress.setFormat("Sending...")
        self.progress.setVisible(running)
        if running:
            self.report("Sending the layers...")

    def show_progress(self):
        """The bar, while an edit runs, as the active document sees it: an edit of
        another image is not its."""
        run = self.run
        self.progress.setVisible(run is not None)
        if run is None or self.state is None or run.doc == self.state.doc:
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Editing another image")

    def which(self, index: int) -> str:
        count = self.run.count if self.run is not None else 1
        return f"Variation {index + 1} of {count}: " if count > 1 else ""

    def on_progress(self, index, event):
        if self.run is None or self.state is None or self.run.doc != self.state.doc:
            return
        self.progress.setRange(0, event.total)
        self.progress.setValue(event.step)
        self.progress.setFormat(f"{self.which(index)}step %v of %m, {event.eta:.0f} s left")
        if event.preview is not None:
            self.show_preview(QtGui.QImage.fromData(event.preview, "PNG"))

    def on_finished(self, index, result):
        """A variation's result into its document's history, shown if it is active."""
        run = self.run
        state = self.state_of(run.doc)
        if state is None:
            run.problem = "The image was closed before the result came."
            return
        try:
            found = edits.content(run.inputs, result)
        except errors.DocumentError as e:
            run.problem = str(e)
            return
        if found is None:
            run.unchanged += 1
            return
        box, bgra = found
        state.history.add(Entry(run.recipe.with_seed(result.seed), box, bgra))
        store.save_history(run.doc, state.history)
        run.seeds.append(result.seed)
        if state is self.state:
            self.show_history()

    def on_mapped(self, result):
        """The edit map as the result layer would apply it (edits.shown_map)."""
        run = self.run
        run.mapped = True
        inputs = run.inputs
        try:
            grey = edits.shown_map(inputs, result)
        except errors.DocumentError as e:
            return self.report(str(e), failed=True)
        shown = pixels.image(grey, inputs.width, inputs.height, pixels.GREY8)
        state = self.state_of(run.doc)
        if state is not None:
            state.preview = shown
            if state is self.state:
                self.show_preview(shown)
        self.report(f"The edit map this edit would use: {schema.MAP_CONVENTION}.")

    def on_cancelled(self):
        if self.run is not None:
            self.run.cancelled = True

    def on_failed(self, error):
        if self.run is not None:
            self.run.problem = self.describe(error, self.run.inputs.frames())
        elif not self.client.busy:
            self.connecting = False
            self.status.setStyleSheet(RED)
            self.status.setText(self.describe(error))

    def on_ended(self):
        """Say how the request ended, once all its signals are in."""
        run, self.run = self.run, None
        self.set_running(False)
        if run is None or run.mapped:
            return
        if not run.seeds:  # its live previews promised a result that never came
            self.drop_preview(run.doc)
        seconds = run.began.elapsed() / 1000
        done = ""
        if run.seeds:
            seeds = ", ".join(str(s) for s in run.seeds)
            done = f"Done in {seconds:.1f} s: seed {seeds} in the history; apply the one you like."
        if run.unchanged:
            done += f" {run.unchanged} changed nothing visible." if done else NOTHING_CHANGED
        if run.problem:
            self.report(f"{done} {run.problem} The image is unchanged.".strip(), run, True)
        elif run.cancelled:
            self.report(f"{done} Cancelled; the image is unchanged.".strip(), run)
        else:
            self.report(done, run, failed=not run.seeds)

    # -- history --------------------------------------------------------------------------

    def show_history(self):
        """The active document's results, newest first."""
        self.results.blockSignals(True)
        self.results.clear()
        entries = [] if self.state is None else self.state.history.entries
        for e in entries:
            if e.thumbnail is None:
                image = pixels.image(e.bgra, e.box[2], e.box[3]).scaled(
                    THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio
                )
                e.thumbnail = QtGui.QIcon(QtGui.QPixmap.fromImage(image))
            item = W.QListWidgetItem(e.thumbnail, f"seed {e.seed}\n{e.recipe.summary()}")
            item.setToolTip(e.recipe.summary())
            self.results.addItem(item)
        self.results.blockSignals(False)
        fit_rows(self.results, len(entries), HISTORY_ROWS)
        if entries:
            self.results.setCurrentRow(0)

    def selected_entry(self):
        row = self.results.currentRow()
        if self.state is None or not 0 <= row < len(self.state.history):
            return None, None
        return row, self.state.history[row]

    def preview_entry(self, *_):
        """The selected result over the picture, before it is applied."""
        _, entry = self.selected_entry()
        if entry is None:
            return
        doc = self.state.doc
        scale = min(PREVIEW_SIZE / doc.width(), PREVIEW_SIZE / doc.height(), 1.0)
        w, h = max(1, round(doc.width() * scale)), max(1, round(doc.height() * scale))
        image = doc.thumbnail(w, h).convertToFormat(pixels.ARGB32)
        x, y, bw, bh = entry.box
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        target = QtCore.QRectF(x * scale, y * scale, bw * scale, bh * scale)
        painter.drawImage(target, pixels.image(entry.bgra, bw, bh))
        painter.end()
        self.show_preview(image)

    def drop_preview(self, doc):
        """A document's preview back to its selected result, or none."""
        state = self.state_of(doc)
        if state is self.state and state is not None:
            self.show_preview(None)
            self.preview_entry()
        elif state is not None:
            state.preview = None

    def show_preview(self, image):
        if self.state is not None:
            self.state.preview = image
        self.preview.setVisible(image is not None)
        if image is not None:
            pixmap = QtGui.QPixmap.fromImage(image).scaled(
                PREVIEW_SIZE,
                PREVIEW_SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.preview.setPixmap(pixmap)

    def apply_entry(self):
        _, entry = self.selected_entry()
        if entry is None:
            return self.fail("Select a result in the history first.")
        try:
            layer, hidden = edits.apply(self.state.doc, entry, self.hide_exemplars.isChecked())
        except errors.DocumentError as e:
            return self.fail(str(e))
        if hidden:
            self.state.hidden[document.uid(layer)] = Hidden([document.uid(n) for n in hidden])
        self.say(messages.applied(layer.name(), [n.name() for n in hidden]))

    def follow_results(self):
        """Exemplars hidden with a result layer follow it through undo and redo."""
        state = self.state
        if state is None or not state.hidden:
            return
        doc = state.doc
        present = {i for i in state.hidden if document.find(doc, i) is not None}
        show, hide = state.follow_results(present)
        for ids, shown in ((show, True), (hide, False)):
            nodes = [n for n in (document.find(doc, i) for i in ids) if n is not None]
            if nodes:
                document.show(doc, nodes, shown)

    def use_entry(self):
        _, entry = self.selected_entry()
        if entry is not None:
            self.use(entry.recipe, f"seed {entry.seed}")

    def discard(self):
        row, entry = self.selected_entry()
        if entry is not None:
            self.state.history.discard(row)
            store.save_history(self.state.doc, self.state.history)
            self.show_history()
            self.show_preview(None)

    def use_layer(self, run: bool):
        """The active result layer's settings back in the docker; with `run`, its
        source edited again with them."""
        recipe = self.active_recipe()
        if recipe is None:
            return
        seed = self.controls.by_name["seed"]
        kept = seed.random.isChecked(), seed.edit.text()
        self.use(recipe, f"'{self.state.doc.activeNode().name()}'")
        if run:  # with its seed, leaving the seed control as it was (Random stays on)
            seed.random.setChecked(kept[0])
            seed.edit.setText(kept[1])
            self.start(1, "edit", recipe)

    # -- server --------------------------------------------------------------------------

    def connect_server(self):
        url, token = self.url.text().strip() or DEFAULT_URL, self.token.text().strip()
        store.write_setting("url", url)
        store.write_setting("token", token)
        self.client.set_address(url, token or None)
        self.status.setStyleSheet("")
        self.status.setText("Connecting...")
        self.reconnect()

    def reconnect(self):
        self.connecting = True
        self.client.connect_server()

    def watch_server(self):
        """Notice a connection the server closed (it stopped), and reconnect on its own
        once it is back."""
        if self.client.busy or self.connecting:
            return
        if self.online and not self.client.client.connected:
            self.on_offline(ServerUnavailable("the connection to the server was lost"))
        elif self.retry:
            self.reconnect()

    def on_connected(self, welcome):
        self.online, self.connecting, self.retry = True, False, False
        self.controls.use_family((welcome.model or {}).get("family"))
        self.status.setStyleSheet("")
        self.status.setText(f"Connected to PIXELS {welcome.server}: {model_line(welcome.model)}")

    def on_offline(self, error):
        self.online, self.connecting = False, False
        self.retry = isinstance(error, ServerUnavailable)
        self.status.setStyleSheet(RED)
        self.status.setText(self.describe(error))

    def describe(self, error, frames: tuple = ()) -> str:
        token = bool(self.client.client.token)
        return errors.describe(error, self.client.address, frames, token)

    def on_models(self, models):
        current = (models.get("current") or {}).get("name", "")
        names = [current] + list(models.get("builtin", [])) + list(models.get("aliases", {}))
        self.model.clear()
        for name in dict.fromkeys(n for n in names if n):
            self.model.addItem(name)
        self.model.setCurrentText(current)

    def load_model(self):
        name = self.model.currentText().strip()
        if name:
            self.model_state.setText(f"Asking the server to load {name}...")
            self.client.load_model(name)

    def on_loading(self, state):
        name, now = state.get("name", "?"), state.get("state", "?")
        text = f"{name}: {now}, {state.get('elapsed_s', 0):.0f} s"
        if state.get("error"):
            text += f" ({state['error']})"
        self.model_state.setStyleSheet(RED if now == "failed" else "")
        self.model_state.setText(text)

    # -- messages -------------------------------------------------------------------------

    def say(self, text, failed: bool = False):
        """A message about the active document."""
        note = Note(text, failed)
        if self.state is not None:
            self.state.note = note
        self.show_note(note)

    def fail(self, text):
        self.say(text, failed=True)

    def report(self, text, run=None, failed: bool = False):
        """A message about the running edit: kept with its document, shown while that
        document is the active one."""
        run = run or self.run
        state = self.state_of(run.doc) if run is not None else None
        if state is None or state is self.state:
            return self.say(text, failed)
        state.note = Note(text, failed)

    def show_note(self, note: Note | None = None):
        """A message, by default the active document's; none takes no room."""
        if note is None:
            note = self.state.note if self.state is not None else Note()
        self.message.setStyleSheet(RED if note.failed else "")
        self.message.setText(note.text)
        self.message.setVisible(bool(note.text))


def text_button(text: str):
    """A button no wider than its text, so that a row of them fits a narrow docker."""
    made = W.QToolButton()
    made.setText(text)
    made.setSizePolicy(W.QSizePolicy.Policy.Expanding, W.QSizePolicy.Policy.Fixed)
    return made


def fit_rows(widget, count: int, rows: tuple) -> None:
    """Size a list to its rows, within (fewest, most) rows."""
    fewest, most = rows
    row = max(widget.sizeHintForRow(0), widget.fontMetrics().height() + 4)
    shown = min(max(count, fewest), most)
    widget.setFixedHeight(row * shown + 2 * widget.frameWidth() + 4)


def model_line(model: dict) -> str:
    """'tiny on cpu (float32, random weights)' from the handshake's model."""
    model = model or {}
    extras = [model.get("dtype")] + (["random weights"] if model.get("random_weights") else [])
    extra = ", ".join(e for e in extras if e)
    text = f"{model.get('name', '?')} on {model.get('device', '?')}"
    text += f" ({extra})" if extra else ""
    state = model.get("state", "ready")
    return text if state == "ready" else f"{text}, model {state}"
