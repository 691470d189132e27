"""The raw ESP event kept as evidence is exactly what compact json.dumps(event, default=str) writes."""
import decimal
import json
from datetime import datetime

from bounces.esp.normalize import raw_text


def test_raw_text_is_compact_json_dumps_with_str_for_the_rest():
    event = {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": 'é\u2028"\\\ud800'}, "t": datetime(2020, 1, 1),
             "n": float("nan"), "dec": decimal.Decimal("1.5"), 3: "an int key", "e": [], "f": {}}
    assert raw_text(event) == json.dumps(event, default=str, separators=(",", ":"))
    assert json.loads(raw_text(event))["c"] == {"d": 'é\u2028"\\\ud800'}


def test_a_cycle_or_a_non_dict_still_gives_text():
    cyclic = {}
    cyclic["self"] = cyclic
    assert raw_text(cyclic).startswith("{'self'")
    assert raw_text(["x", 1]) == '["x",1]'
