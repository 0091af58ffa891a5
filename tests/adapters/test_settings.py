"""`config/gateway.toml` documents every key with the default the settings model defines."""

from __future__ import annotations

import tomllib

from pydantic import BaseModel

from config.settings import DEFAULTS_FILE, Settings

# Kept in the file alone: the model's empty default stands for "the embedded table".
IN_THE_FILE_ONLY = {("policy", "languages"), ("hours", "windows")}


def test_the_embedded_file_documents_every_key_with_the_models_default() -> None:
    documented = tomllib.loads(DEFAULTS_FILE.read_text())
    assert set(documented) == set(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if not isinstance(default, BaseModel):
            assert type(default)(documented[name]) == default, name
            continue
        section = documented[name]
        assert set(section) == set(type(default).model_fields), f"keys of [{name}]"
        read = type(default).model_validate(section)
        for key in section:
            if (name, key) in IN_THE_FILE_ONLY:
                assert section[key], f"{name}.{key}"
            else:
                assert getattr(read, key) == getattr(default, key), f"{name}.{key}"
