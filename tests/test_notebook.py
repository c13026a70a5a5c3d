"""The walkthrough notebook runs top to bottom on the demo data without an error.

Needs ``nbclient`` and ``ipykernel`` (the test extra); the kernel is this Python.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_runs_without_errors(tmp_path, monkeypatch):
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:  # a missing test dependency must not pass silently
        pytest.fail(f"install nbclient and ipykernel to run the walkthrough: {exc}")

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the maps it writes land here
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # pragma: no cover - the failure message
        pytest.fail(f"the walkthrough failed:\n{exc}")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # the three plots
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "period: 2024-11-01 to 2026-10-31" in text
    assert "map_public.html" in text
    assert list(tmp_path.rglob("map_public.html"))
    # the Folium map is displayed inline, self-contained (no CDN link in the frame)
    shown = [o["data"]["text/html"] for o in outputs
             if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    maps = [h for h in shown if "tryggkarta.addLayer" in h]
    assert maps, "the walkthrough does not display the map"
    assert "<iframe" in maps[-1] and "srcdoc=" in maps[-1]
    assert "&lt;script src=" not in maps[-1] and "Sergels torg (egen anteckning)" in maps[-1]
    assert 'lang=&quot;sv&quot;' in maps[-1]
