//! `status`: what the data directory holds, one `name: value` line each.

use std::fs;
use std::path::Path;

/// Folders of the data directory, in pipeline order.
pub const FOLDERS: [&str; 5] = ["audio", "transcripts", "segments", "teaching_moments", "state"];

pub fn report(data_dir: &Path) -> Result<Vec<String>, String> {
    if !data_dir.is_dir() {
        return Err(format!("data directory {} not found", data_dir.display()));
    }
    let mut lines = vec![format!("data_dir: {}", data_dir.display())];
    let sources = count_sources(&data_dir.join("sources.yaml"))?;
    lines.push(format!("sources: {sources}"));
    let videos = count_json_lines(&data_dir.join("videos.jsonl"))?;
    lines.push(format!("videos: {videos}"));
    for folder in FOLDERS {
        let (files, bytes) = folder_size(&data_dir.join(folder))?;
        lines.push(format!("{folder}: {files} files, {bytes} bytes"));
    }
    Ok(lines)
}

/// Entries of the `sources:` list (lines starting with "- ").
fn count_sources(path: &Path) -> Result<usize, String> {
    let text = read(path)?;
    if !text.lines().any(|line| line.trim_end() == "sources:") {
        return Err(format!("{} has no `sources:` list", path.display()));
    }
    Ok(text.lines().filter(|line| line.trim_start().starts_with("- ")).count())
}

/// Non-empty lines, each of which must be a JSON object.
fn count_json_lines(path: &Path) -> Result<usize, String> {
    let text = read(path)?;
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !(line.starts_with('{') && line.ends_with('}')) {
            return Err(format!("{} line {}: not a JSON object", path.display(), number + 1));
        }
        count += 1;
    }
    Ok(count)
}

fn folder_size(path: &Path) -> Result<(u64, u64), String> {
    let entries = fs::read_dir(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut files = 0;
    let mut bytes = 0;
    for entry in entries {
        let entry = entry.map_err(|err| format!("{}: {err}", path.display()))?;
        let kind = entry.file_type().map_err(|err| format!("{}: {err}", path.display()))?;
        if kind.is_dir() {
            let (inner_files, inner_bytes) = folder_size(&entry.path())?;
            files += inner_files;
            bytes += inner_bytes;
        } else if kind.is_file() {
            files += 1;
            bytes += entry.metadata().map_err(|err| format!("{}: {err}", path.display()))?.len();
        }
    }
    Ok((files, bytes))
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))
}
