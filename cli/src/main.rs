//! The `jwtgate` command.
//!
//! Each subcommand lives in its own module with an `Args` struct and a `run` function returning
//! the process exit code, so `main` stays a dispatcher and new subcommands (verify, inspect,
//! keygen, mint, doctor) slot in as one enum variant and one match arm.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;

#[derive(Parser)]
#[command(name = "jwtgate", version, about = "Strict, fast JWT verification")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint and verify tokens for every algorithm on all cores, in-process (no network, no files).
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(&args),
    }
}
