"""The UI's own settings: where the API is and which keys to use (no access to the index)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class UiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYRAG_", env_file=".env", extra="ignore")

    api_url: str = Field("http://127.0.0.1:8000", description="Base URL of the policyrag API.")
    api_key: SecretStr | None = Field(None, description="A reader key, when the API requires one.")
    ui_admin_key: SecretStr | None = Field(None, description="An admin key; shows document upload in the UI.")
    eval_runs_dir: Path = Field(Path("evals"), description="Where the Evaluations page looks for results.json files.")
