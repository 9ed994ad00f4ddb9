"""``composer studio`` binds 127.0.0.1 unless told otherwise, and serves the app over the given folders."""

from __future__ import annotations

from typer.testing import CliRunner

from composer.cli import app


def test_studio_binds_localhost_by_default(monkeypatch, tmp_path):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **options: served.update(options, app=application))
    result = CliRunner().invoke(app, ["studio", "--root", str(tmp_path / "studio"), "--runs", str(tmp_path / "runs"),
                                      "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8123
    workspace = served["app"].state.studio.workspace
    assert workspace.runs == (tmp_path / "runs").resolve() and (workspace.session / "kept").is_dir()
    assert "http://127.0.0.1:8123" in result.output
