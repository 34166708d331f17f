"""The one engine every tier shares: decode → 24 kHz mono → segments → MuQ → store.

Dagster-free; asset modules import it, never the other way round.
"""

from piano_assets.engine.audio import (
    SAMPLE_RATE,
    AudioDecodeError,
    AudioError,
    AudioInfo,
    AudioTooLongError,
    EmptyAudioError,
    SilentAudioError,
    TooShortAudioError,
    convert_to_wav,
    decode_audio,
    direct_wav,
    probe_wav,
    require_sound,
    stream_audio,
)
from piano_assets.engine.embed import (
    MUQ_PRETRAINED_ID,
    Embedder,
    EmbedderConfig,
    EmbedderError,
    build_embedder,
)
from piano_assets.engine.pipeline import (
    EngineConfig,
    RecordingAudio,
    RecordingOutcome,
    SegmentTableError,
    SegmentTransform,
    TransformError,
    embed_recordings,
    embedding_path,
)
from piano_assets.engine.provenance import code_provenance
from piano_assets.engine.segment import (
    Segment,
    SegmentPolicy,
    plan_segments,
    read_segment_table,
    write_segment_table,
)
from piano_assets.engine.store import (
    RecordingEmbeddings,
    from_t1_cache,
    iter_embedding_store,
    load_recording_embeddings,
    read_provenance,
    save_recording_embeddings,
    to_t1_cache,
)

__all__ = [
    "MUQ_PRETRAINED_ID",
    "SAMPLE_RATE",
    "AudioDecodeError",
    "AudioError",
    "AudioInfo",
    "AudioTooLongError",
    "Embedder",
    "EmbedderConfig",
    "EmbedderError",
    "EmptyAudioError",
    "EngineConfig",
    "RecordingAudio",
    "RecordingEmbeddings",
    "RecordingOutcome",
    "Segment",
    "SegmentPolicy",
    "SegmentTableError",
    "SegmentTransform",
    "SilentAudioError",
    "TooShortAudioError",
    "TransformError",
    "build_embedder",
    "code_provenance",
    "convert_to_wav",
    "decode_audio",
    "direct_wav",
    "embed_recordings",
    "embedding_path",
    "from_t1_cache",
    "iter_embedding_store",
    "load_recording_embeddings",
    "plan_segments",
    "probe_wav",
    "read_provenance",
    "read_segment_table",
    "require_sound",
    "save_recording_embeddings",
    "stream_audio",
    "to_t1_cache",
    "write_segment_table",
]
