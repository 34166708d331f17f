"""Shared set-up for the T2 wiring tests: resources that reach only the local sample world."""

from pathlib import Path

from piano_assets.resources import (
    ModelRepoResource,
    MuqEmbedderResource,
    SourceUrlsResource,
    WebResource,
    YtDlpResource,
)
from piano_assets.sample.chopin2021_world import CompetitionWorld


def offline_resources(root: Path, world: CompetitionWorld) -> dict[str, object]:
    """Every T2 resource pointed at `world` (file:// URLs), with a tiny random-weight MuQ."""
    return {
        "model_repo": ModelRepoResource(root=str(root), dry_run=False),
        "muq": MuqEmbedderResource(mode="random", random_size="tiny"),
        "ytdlp": YtDlpResource(allow_file_urls=True),
        "web": WebResource(),
        "source_urls": SourceUrlsResource(
            chopin2021_base_url=world.chopin2021_base_url,
            chopin2021_channel_url=world.chopin2021_channel_url,
        ),
    }
