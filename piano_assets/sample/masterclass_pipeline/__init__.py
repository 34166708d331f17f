"""Sources of the sample's Rust crate `masterclass-pipeline`, shipped as package data.

`before_cleanup` writes them to `tools/masterclass-pipeline/{Cargo.toml,src/*.rs}`.
"""
