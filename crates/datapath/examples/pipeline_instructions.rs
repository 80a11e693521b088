//! Runs one of the pipeline's benchmark workloads a fixed number of times, for counting
//! instructions under callgrind (`scripts/bench-quick`): instruction counts are the same on a
//! busy machine as on an idle one, where wall-clock time is not.
//!
//! ```text
//! pipeline_instructions CASE PASSES    one case, PASSES passes over its batch of 32 frames
//! pipeline_instructions --list         the cases
//! ```
//!
//! Building the workload costs instructions too: `bench-quick` counts only those of [`run`]
//! (callgrind's `--toggle-collect`).

use std::hint::black_box;
use std::process::ExitCode;

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use workloads::CASES;

/// The measured part: `bench-quick` counts only what runs inside it (`--toggle-collect`).
#[inline(never)]
fn run(workload: &mut workloads::Workload, passes: u32) -> usize {
    let mut sent = 0;
    for _ in 0..passes {
        sent += black_box(&mut *workload).pass();
    }
    sent
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "--list" => {
            for (name, description, _) in CASES {
                println!("{name}\t{description}");
            }
            ExitCode::SUCCESS
        }
        [case, passes] => {
            let Some((name, _, build)) = CASES.iter().find(|(name, _, _)| name == case) else {
                eprintln!("pipeline_instructions: no case {case:?} (try --list)");
                return ExitCode::from(2);
            };
            let Ok(passes) = passes.parse::<u32>() else {
                eprintln!("pipeline_instructions: {passes:?} is not a number of passes");
                return ExitCode::from(2);
            };
            let mut workload = build();
            workload.check(name);
            let sent = run(&mut workload, passes);
            // `bench-quick` divides the instructions by the frames received.
            let received = u64::from(passes) * workload.rx.len() as u64;
            println!("{name}\tframes_in={received}\tframes_out={sent}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: pipeline_instructions CASE PASSES | --list");
            ExitCode::from(2)
        }
    }
}
