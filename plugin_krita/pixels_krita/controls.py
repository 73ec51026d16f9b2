"""The edit's controls, built from the contract's schema.

One control per parameter of `schema.PARAMS`, one page per group of `schema.GROUPS`,
with the schema's label, bounds, step, digits, default, choices and help (the tooltip).
A parameter added to the schema appears here with no change to the plug-in; only a new
*kind* of parameter needs a control class below. Once the server says which model
family serves, the controls follow `schema.family(name)`: its defaults and words, and
the parameters it has no use for hidden.
"""

import contextlib

from pixels_contract import schema

from . import state
from .qt import QtCore, QtGui, QtWidgets

W = QtWidgets
PROMPT_LINES = 2.6  # height of a long text field, in lines
LONG_TEXT = 200  # characters above which text gets a field of several lines
NO_BOUND = 1e9


def tooltip(param: schema.Param) -> str:
    default = "random" if param.kind == schema.SEED else schema.shown(param.default)
    return f"{param.help}.\nAllowed: {param.bounds()}. Default: {default}."


def suffix(param: schema.Param) -> str:
    return f" {param.unit}" if param.unit and param.unit != param.label.lower() else ""


class Control:
    """One parameter's widget (`widget` goes into the form) and its raw value, which
    `schema.parse` checks."""

    def __init__(self, param: schema.Param):
        self.param = param
        self.widget = self.build()
        self.widget.setToolTip(tooltip(param))
        self.set_value(param.default)

    def build(self):
        raise NotImplementedError

    def value(self):
        raise NotImplementedError

    def set_value(self, value) -> None:
        raise NotImplementedError


class Text(Control):
    def build(self):
        if self.param.max_length > LONG_TEXT:
            self.edit = W.QPlainTextEdit()
            lines = self.edit.fontMetrics().lineSpacing() * PROMPT_LINES
            self.edit.setFixedHeight(int(lines) + 10)
            self.edit.setTabChangesFocus(True)
        else:
            self.edit = W.QLineEdit()
            self.edit.setMaxLength(self.param.max_length)
        self.edit.setPlaceholderText(self.param.help)
        return self.edit

    def value(self):
        if isinstance(self.edit, W.QPlainTextEdit):
            return self.edit.toPlainText()
        return self.edit.text()

    def set_value(self, value) -> None:
        if isinstance(self.edit, W.QPlainTextEdit):
            self.edit.setPlainText(str(value))
        else:
            self.edit.setText(str(value))


def number_box(param: schema.Param):
    """A QDoubleSpinBox over the parameter's bounds, step and digits."""
    box = W.QDoubleSpinBox()
    box.setDecimals(param.digits)
    low = -NO_BOUND if param.minimum is None else param.minimum
    if param.above_minimum:
        low += 10.0**-param.digits
    box.setRange(low, NO_BOUND if param.maximum is None else param.maximum)
    box.setSingleStep(param.step)
    box.setSuffix(suffix(param))
    return box


class Number(Control):
    def build(self):
        self.box = number_box(self.param)
        return self.box

    def value(self):
        return round(self.box.value(), self.param.digits)

    def set_value(self, value) -> None:
        self.box.setValue(float(value))


class Integer(Control):
    def build(self):
        self.box = W.QSpinBox()
        self.box.setRange(int(self.param.minimum), int(self.param.maximum))
        self.box.setSingleStep(int(self.param.step))
        self.box.setSuffix(suffix(self.param))
        return self.box

    def value(self):
        return self.box.value()

    def set_value(self, value) -> None:
        self.box.setValue(int(value))


class Boolean(Control):
    def build(self):
        self.box = W.QCheckBox()
        return self.box

    def value(self):
        return self.box.isChecked()

    def set_value(self, value) -> None:
        self.box.setChecked(bool(value))


class Choice(Control):
    def build(self):
        self.box = narrow(W.QComboBox())
        for value, label in self.param.choices:
            self.box.addItem(label, value)
        return self.box

    def value(self):
        return self.box.currentData()

    def set_value(self, value) -> None:
        index = self.box.findData(value)
        if index < 0:
            raise ValueError(f"not a choice: {value!r}")
        self.box.setCurrentIndex(index)


class Range(Control):
    """Two number boxes: low and high."""

    def build(self):
        widget = W.QWidget()
        row = W.QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        self.low, self.high = number_box(self.param), number_box(self.param)
        row.addWidget(self.low, 1)
        row.addWidget(W.QLabel("to"))
        row.addWidget(self.high, 1)
        return widget

    def value(self):
        digits = self.param.digits
        return [round(self.low.value(), digits), round(self.high.value(), digits)]

    def set_value(self, value) -> None:
        low, high = value
        self.low.setValue(float(low))
        self.high.setValue(float(high))


class Seed(Control):
    """A field for the whole seed range (a QSpinBox stops at 2^31 - 1) and "Random"."""

    def build(self):
        widget = W.QWidget()
        row = W.QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = W.QLineEdit()
        digits = len(str(int(self.param.maximum)))
        pattern = QtCore.QRegularExpression(f"[0-9]{{0,{digits}}}")
        self.edit.setValidator(QtGui.QRegularExpressionValidator(pattern, self.edit))
        low, high = (schema.number_text(v) for v in (self.param.minimum, self.param.maximum))
        self.edit.setPlaceholderText(f"{low} to {high}")
        self.random = W.QCheckBox("Random")
        self.random.toggled.connect(self.on_random)
        row.addWidget(self.edit, 1)
        row.addWidget(self.random)
        return widget

    def on_random(self, on: bool) -> None:
        """Unticked with the field empty, the field gets a fresh seed to use and show."""
        self.edit.setEnabled(not on)
        if not on and not self.edit.text():
            self.edit.setText(str(state.fresh_seed()))

    def value(self):
        if self.random.isChecked():
            return None
        text = self.edit.text()
        return int(text) if text.isdigit() else text

    def set_value(self, value) -> None:
        self.random.setChecked(value is None)
        if value is not None:
            self.edit.setText(str(int(value)))


def compact(form):
    """A form that fits a narrow docker: a row too wide puts its field under its label."""
    form.setFieldGrowthPolicy(W.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(W.QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


def narrow(combo, letters: int = 8):
    """A menu as narrow as `letters` characters when room is short (its items elide)."""
    combo.setSizeAdjustPolicy(W.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(letters)
    return combo


KINDS = {
    schema.TEXT: Text,
    schema.NUMBER: Number,
    schema.INTEGER: Integer,
    schema.BOOLEAN: Boolean,
    schema.CHOICE: Choice,
    schema.RANGE: Range,
    schema.SEED: Seed,
}


class Controls:
    """Every parameter's control, read from the schema when the docker is built."""

    def __init__(self):
        self.by_name = {p.name: KINDS[p.kind](p) for p in schema.PARAMS}
        self.labels = {name: W.QLabel(c.param.label) for name, c in self.by_name.items()}
        self.family: str | None = None  # the serving model's (schema.FAMILIES); None: any

    def pages(self) -> list[tuple[str, object]]:
        """(title, widget) for each group of the schema, its controls in a form."""
        pages = []
        for group, title in schema.GROUPS:
            page = W.QWidget()
            form = compact(W.QFormLayout(page))
            for name, control in self.by_name.items():
                if control.param.group == group:
                    label = self.labels[name]
                    label.setToolTip(control.widget.toolTip())
                    label.setBuddy(control.widget)
                    form.addRow(label, control.widget)
            pages.append((title, page))
        return pages

    def use_family(self, name: str | None) -> None:
        """Follow the serving model's family (None, or one this plug-in does not know:
        any model). Values still at the old family's default move to the new one's; a
        value the user chose stays."""
        name = name if name in schema.FAMILIES else None
        before = {p.name: p.default for p in schema.family(self.family).params()}
        after = {p.name: p for p in schema.family(name).params()}
        self.family = name
        for param_name, control in self.by_name.items():
            param = after.get(param_name)
            control.widget.setVisible(param is not None)
            self.labels[param_name].setVisible(param is not None)
            if param is None:
                continue
            untouched = param_name in before and same(control.value(), before[param_name])
            control.param = param
            self.labels[param_name].setText(param.label)
            for widget in (control.widget, self.labels[param_name]):
                widget.setToolTip(tooltip(param))
            if untouched:
                control.set_value(param.default)

    def values(self) -> dict:
        """The raw values (JSON types) of the parameters the family takes, as the recipe
        keeps them."""
        taken = {p.name for p in schema.family(self.family).params()}
        return {name: c.value() for name, c in self.by_name.items() if name in taken}

    def read(self) -> dict:
        """The values, if the schema accepts them for the family; schema.Invalid names
        the one it does not, and that control gets the focus."""
        values = self.values()
        try:
            schema.parse(values, self.family)
        except schema.Invalid as e:
            if e.field in self.by_name:
                self.by_name[e.field].widget.setFocus()
            raise
        return values

    def set_values(self, values: dict) -> None:
        """Show stored values; names the schema no longer has, or values a control cannot
        hold, are passed over (the schema may have changed since they were stored)."""
        for name, value in values.items():
            control = self.by_name.get(name)
            if control is not None:
                with contextlib.suppress(TypeError, ValueError):
                    control.set_value(value)


def same(value, default) -> bool:
    """Whether a control's raw value is the default (a range is a list on one side)."""
    return (tuple(value) if isinstance(value, list) else value) == default
