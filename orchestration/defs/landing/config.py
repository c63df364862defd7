"""Run config of one extract load."""

import dagster as dg
from pydantic import Field


class LoadExtractConfig(dg.Config):
    folder: str = Field(
        description="The extract folder: an absolute path, or a folder name inside the landing "
        "folder (env TINYTRACKER_LANDING_DIR, default landing/)."
    )
