"""Request bodies are strict JSON: a boolean is not an integer and a numeric string
is not a number (schemathesis found ``{"seed": false}`` accepted as seed 0)."""

from __future__ import annotations

import httpx


def test_a_boolean_seed_is_refused_naming_the_field(api: httpx.Client) -> None:
    response = api.post("/api/v1/lab/traffic", json={"flows": 5, "seed": False})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "seed"
    assert api.post("/api/v1/lab/traffic", json={"flows": "5"}).status_code == 422
    assert api.post("/api/v1/lab/traffic", json={"flows": 5, "seed": 3}).status_code == 200
