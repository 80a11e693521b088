//! Compiles `proto/switchyard.proto` with protox (pure Rust; the machine has no protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/switchyard.proto");
    let descriptors = protox::compile(["proto/switchyard.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
