"""The edit contract's schema: every parameter once, its bounds enforced, the engine's
settings pinned to it, and the error texts that let each front end name a field."""

import json
from dataclasses import fields

import pytest

from pixels_contract import schema
from pixels_engine.settings import EditSettings
from pixels_engine.thresholds import CURVES

KIND_TYPES = {
    schema.TEXT: str,
    schema.NUMBER: float,
    schema.INTEGER: int,
    schema.BOOLEAN: bool,
    schema.CHOICE: str,
    schema.RANGE: tuple[float, float],
    schema.SEED: int | None,
}


def test_edit_settings_are_the_schema_field_for_field():
    """The engine takes exactly the contract's parameters, with its defaults and types."""
    settings = fields(EditSettings)
    assert [f.name for f in settings] == [p.name for p in schema.PARAMS]
    for f in settings:
        param = schema.BY_NAME[f.name]
        assert f.default == param.default, f.name
        assert f.type == KIND_TYPES[param.kind], f.name
    assert EditSettings() == EditSettings(**schema.parse({}))


def test_threshold_curves_are_the_engines():
    assert set(schema.BY_NAME["threshold"].values) == set(CURVES)


def test_every_default_passes_and_parse_fills_the_defaults():
    assert schema.parse({}) == schema.DEFAULTS
    for param in schema.PARAMS:
        assert param.check(param.default) == param.default, param.name


def test_whole_floats_become_ints_and_pairs_become_tuples():
    values = schema.parse({"steps": 12.0, "seed": 7.0, "levels": [0, 1]})
    assert values["steps"] == 12 and type(values["steps"]) is int
    assert values["seed"] == 7 and type(values["seed"]) is int
    assert values["levels"] == (0.0, 1.0)


NUMERIC = [p for p in schema.PARAMS if p.kind in (schema.NUMBER, schema.INTEGER, schema.SEED)]


@pytest.mark.parametrize("param", NUMERIC, ids=lambda p: p.name)
def test_numbers_are_bounded_both_ways(param):
    step = 1 if param.kind != schema.NUMBER else 0.001
    for bad in (param.minimum - step, param.maximum + step, float("inf"), float("nan")):
        with pytest.raises(schema.Invalid) as refused:
            schema.parse({param.name: bad})
        assert refused.value.field == param.name
        assert param.bounds().split(" ")[0] in refused.value.text
    if param.above_minimum:
        with pytest.raises(schema.Invalid):
            schema.parse({param.name: param.minimum})
    for bad in ("3", True, [1], {"a": 1}):
        with pytest.raises(schema.Invalid):
            schema.parse({param.name: bad})
    if param.kind != schema.NUMBER:
        with pytest.raises(schema.Invalid, match="whole number"):
            schema.parse({param.name: param.maximum - 0.5})
    for value in param.excluded:
        with pytest.raises(schema.Invalid, match=f"except {value}"):
            schema.parse({param.name: value})


def test_the_bounds_that_guard_memory_and_time():
    """grow and feather cost memory and time with their size: the contract bounds them."""
    for name, limit in (("grow", 256), ("feather", 256), ("transition", 1024)):
        param = schema.BY_NAME[name]
        assert param.maximum == limit
        with pytest.raises(schema.Invalid, match=f"to {limit} px"):
            schema.parse({name: 10**9})


def test_seeds_are_unsigned_32_bit_or_none():
    assert schema.parse({"seed": schema.SEED_MAX})["seed"] == 2**32 - 1
    assert schema.parse({"seed": None})["seed"] is None
    for bad in (-1, 2**32, 2**63):
        with pytest.raises(schema.Invalid, match="4294967295, or none"):
            schema.parse({"seed": bad})


def test_text_must_be_real_unicode_and_not_too_long():
    with pytest.raises(schema.Invalid, match="lone surrogate") as surrogate:
        schema.parse({"prompt": "a lake \ud800"})
    assert surrogate.value.field == "prompt" and surrogate.value.code == "invalid_field"
    with pytest.raises(schema.Invalid, match="has 2001 characters; at most 2000") as long:
        schema.parse({"negative_prompt": "x" * 2001})
    assert long.value.code == "too_large"
    assert schema.parse({"prompt": "ein See, 湖, 🌊"})["prompt"] == "ein See, 湖, 🌊"


def test_choices_booleans_and_ranges():
    with pytest.raises(schema.Invalid, match="one of linear, quadratic"):
        schema.parse({"threshold": "zigzag"})
    with pytest.raises(schema.Invalid, match="true or false"):
        schema.parse({"invert": 1})
    for bad in ([0.9, 0.1], [0.5], [0, "1"], [-0.1, 1], "0,1", [0, 1, 2]):
        with pytest.raises(schema.Invalid) as refused:
            schema.parse({"levels": bad})
        assert refused.value.field == "levels"


def test_unknown_names_and_non_objects_are_refused():
    with pytest.raises(schema.Invalid, match="not a parameter") as unknown:
        schema.parse({"colour": 1})
    assert unknown.value.field == "colour"
    for raw in ([], "steps=3", 7, None):
        with pytest.raises(schema.Invalid) as refused:
            schema.parse(raw)
        assert refused.value.field is None


def test_a_schedule_that_runs_no_step_is_refused_at_submit():
    with pytest.raises(schema.Invalid, match="runs no step") as refused:
        schema.parse({"steps": 4, "strength": 0.2})
    assert refused.value.field == "strength"
    assert schema.parse({"steps": 5, "strength": 0.2})["steps"] == 5


def test_error_texts_leave_the_name_to_the_front_end():
    """'Grow: ...' in a dialog, '--grow: ...' in the CLI, 'params.grow: ...' on the wire."""
    for param in schema.PARAMS:
        if param.kind in (schema.NUMBER, schema.INTEGER):
            with pytest.raises(schema.Invalid) as refused:
                schema.parse({param.name: param.maximum * 2 + 1})
            text = refused.value.text
            assert not text.startswith(param.name) and param.flag not in text, text


def test_the_schema_as_data_for_other_clients():
    data = json.loads(json.dumps(schema.as_json()))
    assert [p["name"] for p in data["params"]] == [p.name for p in schema.PARAMS]
    assert data["seed"] == [0, 2**32 - 1]
    assert "white keeps the source" in data["map_convention"]
    assert {p["group"] for p in data["params"]} == {name for name, _ in schema.GROUPS}


def test_each_engine_family_has_its_parameters_in_the_contract():
    from pixels_engine.families import FAMILIES as ENGINE

    names = {"flux-dev", "flux-schnell"} | {f.name for f in ENGINE if f.name != "flux"}
    assert names == set(schema.FAMILIES)


def test_a_family_has_its_own_defaults_and_refuses_what_it_cannot_use():
    dev = schema.parse({}, "flux-dev")
    assert dev["guidance"] == 3.5 and dev["steps"] == 28
    assert schema.parse({}, "flux-schnell")["steps"] == 4
    assert schema.parse({}, "kandinsky3")["guidance"] == 3.0
    assert schema.parse({"negative_prompt": ""}, "flux-dev")["negative_prompt"] == ""
    with pytest.raises(schema.Invalid, match="FLUX.1 dev takes none") as refused:
        schema.parse({"negative_prompt": "blurry"}, "flux-dev")
    assert refused.value.field == "negative_prompt"
    with pytest.raises(schema.Invalid, match="FLUX.1 schnell takes none"):
        schema.parse({"guidance": 7.0}, "flux-schnell")
    labels = {p.name: p.label for p in schema.family("flux-dev").params()}
    assert labels["guidance"] == "Guidance (distilled)" and "negative_prompt" not in labels


def test_a_flow_model_runs_a_step_at_any_strength_a_unet_model_may_not():
    assert schema.parse({"steps": 4, "strength": 0.2}, "flux-schnell")["strength"] == 0.2
    for family in ("sd", "kandinsky3", None):
        with pytest.raises(schema.Invalid, match="runs no step"):
            schema.parse({"steps": 4, "strength": 0.2}, family)


def test_the_schema_of_a_family_as_data():
    data = schema.as_json("flux-schnell")
    assert data["family"] == "flux-schnell"
    assert {"negative_prompt", "guidance"} <= set(data["unused"])
    names = [p["name"] for p in data["params"]]
    assert "guidance" not in names and names[0] == "prompt"
    assert set(data["families"]) == set(schema.FAMILIES)
