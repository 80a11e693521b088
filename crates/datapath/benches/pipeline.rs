//! Pipeline throughput on one core, no I/O: batches of 32 frames of 64 bytes through
//! `Datapath::process`. Criterion reports elements per second, i.e. frames per second. The
//! workloads are in `workloads/`, shared with `examples/pipeline_instructions.rs`.
//!
//! `cargo bench -p switchyard-datapath --bench pipeline`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod workloads;

use workloads::{BATCH, CASES};

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, description, build) in CASES {
        let mut workload = build();
        workload.check(name);
        group.bench_function(*description, |b| b.iter(|| black_box(black_box(&mut workload).pass())));
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = pipeline }
criterion_main!(benches);
