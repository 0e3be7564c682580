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


def test_bytes_and_nested_columns_are_refused_naming_the_column():
    n = 20
    with pytest.raises(MetadataError, match="column 'blob' holds bytes"):
        Metadata.detect(pd.DataFrame({"blob": [b"ab"] * n, "x": range(n)}))
    with pytest.raises(MetadataError, match="column 'tags' holds nested values"):
        Metadata.detect(pd.DataFrame({"tags": [[1, 2]] * n, "x": range(n)}))
    with pytest.raises(MetadataError, match="column 'tags' holds nested values"):
        Metadata({"tags": "categorical"}).validate(pd.DataFrame({"tags": [{"a": 1}] * n}))


def test_decimal_columns_are_numbers_and_come_back_as_decimals():
    from decimal import Decimal

    from syngen import TabularGAN

    rng = np.random.default_rng(0)
    amounts = [Decimal(f"{v:.2f}") for v in rng.normal(100, 10, 200)]
    df = pd.DataFrame({"amount": amounts, "x": rng.normal(size=200)})
    assert Metadata.detect(df).columns["amount"] == "numerical"
    out = TabularGAN(epochs=2, seed=0).fit(df).sample(100, seed=0)
    assert out["amount"].map(type).eq(Decimal).all()
    assert (out["amount"].map(lambda d: d.as_tuple().exponent) >= -2).all()  # cents at most
    values = out["amount"].astype(float)
    assert values.between(float(min(amounts)), float(max(amounts))).all()


def test_integers_beyond_float64s_exact_range_are_refused_unless_declared_categorical():
    from syngen import TabularGAN

    rng = np.random.default_rng(0)
    big = rng.integers(2**60, 2**62, 200, dtype=np.int64)
    df = pd.DataFrame({"account": big % 7 + 2**60, "x": rng.normal(size=200)})
    with pytest.raises(MetadataError, match=r"column 'account' holds integers beyond 2\*\*53"):
        TabularGAN(epochs=1).fit(df)
    # Declared categorical, its values are kept exactly; unsigned ints keep their dtype.
    df["count"] = rng.integers(0, 100, 200).astype("uint64")
    model = TabularGAN(epochs=1, seed=0).fit(df, metadata={"account": "categorical"})
    out = model.sample(200, seed=0)
    assert out["account"].dtype == np.int64 and out["account"].isin(df["account"]).all()
    assert out["count"].dtype == np.uint64
