"""The base of the facade's generated response models (imported only when the facade is used)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Base of every generated response model: lenient, keeps unknown fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    def to_dict(self) -> dict[str, Any]:
        """The response as a plain dict, as ``store.call`` returns it."""
        return self.model_dump(by_alias=True, exclude_unset=True)
