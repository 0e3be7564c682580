import json

import numpy as np
import pandas as pd
import pytest

from syngen import Metadata, MetadataError


def test_detects_every_kind(mixed):
    kinds = Metadata.detect(mixed).columns
    assert kinds == {
        "customer_id": "id",
        "group": "categorical",
        "city": "categorical",
        "amount": "numerical",
        "age": "integer",
        "visits": "integer",
        "active": "boolean",
        "flag": "boolean",
        "opened": "datetime",
        "country": "constant",
    }


def test_object_booleans_and_whole_floats():
    df = pd.DataFrame({"b": [True, None, False] * 10, "f": [1.0, 2.0, np.nan] * 10})
    assert Metadata.detect(df).columns == {"b": "boolean", "f": "integer"}


def test_overrides_and_json_round_trip(mixed, tmp_path):
    meta = Metadata.detect(mixed, overrides={"visits": "categorical"})
    assert meta.columns["visits"] == "categorical"
    meta.save(tmp_path / "m.json")
    assert Metadata.load(tmp_path / "m.json") == meta
    assert json.loads((tmp_path / "m.json").read_text())["columns"]["visits"] == "categorical"


@pytest.mark.parametrize(
    "df, message",
    [
        (pd.DataFrame({"a": [None, None]}), "'a' is entirely null"),
        (pd.DataFrame({"a": [1.0, np.inf, 2.0]}), "'a' holds inf"),
        (pd.DataFrame(), "no columns"),
        (pd.DataFrame({"a": []}), "no rows"),
    ],
)
def test_bad_frames_name_the_problem(df, message):
    with pytest.raises(MetadataError, match=message):
        Metadata.detect(df)


def test_wrong_kind_names_column_and_fix():
    df = pd.DataFrame({"price": ["1", "2", "x"] * 5})
    with pytest.raises(MetadataError, match=r"'price' is declared numerical .* 'categorical'"):
        Metadata.detect(df, overrides={"price": "numerical"})
    with pytest.raises(MetadataError, match="unknown kind 'float'"):
        Metadata({"price": "float"})
    with pytest.raises(MetadataError, match="not in the data"):
        Metadata.detect(df, overrides={"cost": "numerical"})


def test_not_a_frame():
    with pytest.raises(TypeError, match="DataFrame"):
        Metadata.detect([[1, 2]])


def test_unsupported_columns_name_the_fix():
    with pytest.raises(MetadataError, match=r"column names must be strings.*astype\(str\)"):
        Metadata.detect(pd.DataFrame({0: [1, 2], "b": [3, 4]}))
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2, 3], unit="s")})
    with pytest.raises(MetadataError, match=r"'wait' has dtype timedelta64.*total_seconds"):
        Metadata.detect(df)


def test_a_partial_metadata_overrides_its_columns_and_the_rest_are_detected(mixed):
    from syngen.metadata import validated_metadata

    name = next(iter(mixed.columns))
    meta = validated_metadata({"columns": {name: "categorical"}}, mixed)
    assert list(meta.columns) == list(map(str, mixed.columns))
    assert meta.columns[name] == "categorical"
    rest = {c: k for c, k in Metadata.detect(mixed).columns.items() if c != name}
    assert {c: k for c, k in meta.columns.items() if c != name} == rest
    with pytest.raises(MetadataError, match="not in the data.*'nope'"):
        validated_metadata({"columns": {"nope": "integer"}}, mixed)
