//! masterclass-pipeline: collects piano masterclass videos, transcribes them and extracts
//! teaching moments. `status` reports what the data directory holds.

mod status;

use std::env;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the pipeline keeps its data, relative to the directory it runs from.
const DEFAULT_DATA_DIR: &str = "./data";

const USAGE: &str = "usage: masterclass-pipeline [--data-dir DIR] <command>

commands:
  status    count sources, videos and the files of every data folder

options:
  --data-dir DIR    data directory (default: the pipeline's data folder)
  -h, --help        show this help";

#[derive(Debug, PartialEq)]
struct Args {
    data_dir: PathBuf,
    command: String,
}

fn parse_args(raw: &[String]) -> Result<Args, String> {
    let mut data_dir = PathBuf::from(DEFAULT_DATA_DIR);
    let mut command: Option<String> = None;
    let mut index = 0;
    while index < raw.len() {
        let arg = &raw[index];
        if arg == "--data-dir" {
            index += 1;
            let value = raw.get(index).ok_or("--data-dir needs a directory")?;
            data_dir = PathBuf::from(value);
        } else if let Some(value) = arg.strip_prefix("--data-dir=") {
            data_dir = PathBuf::from(value);
        } else if arg == "-h" || arg == "--help" {
            return Err(String::new());
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}"));
        } else if command.is_none() {
            command = Some(arg.clone());
        } else {
            return Err(format!("unexpected argument {arg}"));
        }
        index += 1;
    }
    let command = command.ok_or("missing command")?;
    Ok(Args { data_dir, command })
}

fn main() -> ExitCode {
    let raw: Vec<String> = env::args().skip(1).collect();
    let args = match parse_args(&raw) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match args.command.as_str() {
        "status" => match status::report(&args.data_dir) {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        },
        other => {
            eprintln!("error: unknown command {other}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn data_dir_defaults_and_overrides() {
        let parsed = parse_args(&strings(&["status"])).unwrap();
        assert_eq!(parsed.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        let parsed = parse_args(&strings(&["--data-dir", "/x", "status"])).unwrap();
        assert_eq!(parsed.data_dir, PathBuf::from("/x"));
        let parsed = parse_args(&strings(&["status", "--data-dir=/y"])).unwrap();
        assert_eq!(parsed.data_dir, PathBuf::from("/y"));
    }

    #[test]
    fn rejects_missing_command_and_unknown_options() {
        assert!(parse_args(&strings(&[])).is_err());
        assert!(parse_args(&strings(&["--verbose", "status"])).is_err());
        assert!(parse_args(&strings(&["--data-dir"])).is_err());
    }
}
