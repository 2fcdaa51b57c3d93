//! The `jwtgate` command.
//!
//! Each subcommand lives in its own module with an `Args` struct and a `run` function returning
//! the process exit code, so `main` stays a dispatcher. None of them verifies anything itself:
//! every accept/reject decision is made by the `jwtgate` crate (its `Verifier` and
//! `diagnostics`); the command orchestrates, explains and formats. Shared output lives in `ui`,
//! key files in `keyfile`, the verifier a server builds from the policy flags of `verify` and
//! `doctor` in `server_policy`, the loopback issuer of `demo` and `jwks serve` in `issuer`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod doctor;
mod floor;
mod inspect;
mod issuer;
mod jwks_serve;
mod keyfile;
mod keygen;
mod mint;
mod serve;
mod server_policy;
mod ui;
mod verify;

#[derive(Parser)]
#[command(
    name = "jwtgate",
    version,
    about = "Strict, fast JWT verification: check a set-up, verify and inspect tokens, make keys and tokens for development",
    after_help = ui::EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an issuer set-up step by step (discovery, clock, JWKS, keys, algorithms, a token)
    /// and say what to fix.
    #[command(after_help = ui::EXIT_CODES_HELP)]
    Doctor(doctor::DoctorArgs),
    /// Verify a token with the exact verifier a server would build from these options.
    #[command(after_help = ui::EXIT_CODES_HELP)]
    Verify(verify::VerifyArgs),
    /// Decode a token WITHOUT verifying it: header, claims, times, risky headers.
    #[command(after_help = ui::EXIT_CODES_HELP)]
    Inspect(inspect::InspectArgs),
    /// Generate a signing key: private JWK and PEM, public JWKS.
    Keygen(keygen::KeygenArgs),
    /// Sign an access token with a local key (tests and local development).
    Mint(mint::MintArgs),
    /// Serve public keys from a directory as a loopback issuer (discovery + JWKS).
    Jwks(jwks_serve::JwksArgs),
    /// Compare jwtgate (cold and cached) with the bare signature check, per algorithm.
    Bench(bench::BenchArgs),
    /// A live end-to-end run: an embedded issuer, worker threads verifying through discovery,
    /// a key rotation mid-run.
    #[command(after_help = ui::EXIT_CODES_HELP)]
    Demo(demo::DemoArgs),
    /// A forward-auth decision service for nginx, Caddy, Traefik and Envoy: verifies each
    /// request's credential, rate-limits, serves RFC 9728 metadata, /health and /metrics.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Doctor(args) => doctor::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Mint(args) => mint::run(&args),
        Command::Jwks(args) => jwks_serve::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Serve(args) => serve::run(&args),
    }
}
