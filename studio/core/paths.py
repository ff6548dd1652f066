"""Where the studio keeps its files.

`SNAIL_STUDIO_HOME` moves config, data and outputs under one folder (tests, portable use);
otherwise the platform's usual folders are used. Nothing is created at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "snail-studio"
HOME_ENV = "SNAIL_STUDIO_HOME"
# Package data (the embedded model, tokenizers, icon): beside the code in a checkout and in an
# installed wheel alike, so this is the one place that knows where they are.
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    outputs_dir: Path

    @classmethod
    def from_environment(cls) -> AppPaths:
        home = os.environ.get(HOME_ENV)
        if home:
            root = Path(home).expanduser()
            return cls(root / "config", root / "data", root / "outputs")
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_pictures_dir()) / "Snail Studio",
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite"

    @property
    def identity_cache_db(self) -> Path:
        return self.data_dir / "models.sqlite"

    @property
    def session_file(self) -> Path:
        return self.data_dir / "session.json"


def embedded_models_dir() -> Path:
    return RESOURCES / "models"
